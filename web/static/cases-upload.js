// Upload page: send the file to the API with the CSRF header, so files larger than the
// form-body limit go through the streaming upload route; show progress and errors.
const form = document.getElementById("upload-form");
const errorBox = document.getElementById("upload-error");
const progress = document.getElementById("upload-progress");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  errorBox.focus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const body = new FormData(form);
  body.delete("csrf_token");
  const request = new XMLHttpRequest();
  request.open("POST", form.dataset.api);
  request.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (step) => {
    if (step.lengthComputable) {
      progress.textContent = `${Math.round((100 * step.loaded) / step.total)} %`;
    }
  });
  request.addEventListener("load", () => {
    if (request.status === 201) {
      window.location.assign(form.dataset.done);
      return;
    }
    let message = `${request.status}`;
    try {
      message = JSON.parse(request.responseText).error.message;
    } catch {
      // keep the status code as the message
    }
    progress.textContent = "";
    showError(message);
  });
  request.addEventListener("error", () => showError(form.dataset.networkError || "Network error"));
  request.send(body);
});
errorBox.tabIndex = -1;
