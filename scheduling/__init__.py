"""Time: availability, slot search, booking, reminders (see issue 4)."""
