"""Live captions, computed offline on the server.

Per speaking participant: decoded 48 kHz audio → 16 kHz mono (`audio`) → streaming Silero
voice-activity detection (`vad`) → utterances (`segmenter`) → faster-whisper recognition
(`recognizer`) → translation into each viewer's language (`translation`, with the `argos`
and `apertium` engines) → caption events (`events`) delivered on the event loop.
`pipeline.CaptionService` ties it together; `workers` shares the recognition threads
fairly between sessions. Nothing here opens a network connection or downloads a model.
"""
