// Registers the service worker (/sw.js) and, when a new version of the app has been
// installed and is waiting, offers to reload into it. Served at /pwa.js by the server.
(() => {
  if (!("serviceWorker" in navigator)) return;
  const ru = (document.documentElement.lang || navigator.language || "").startsWith("ru");
  const words = ru
    ? { text: "Доступна новая версия.", reload: "Обновить", later: "Позже" }
    : { text: "A new version is available.", reload: "Reload", later: "Later" };

  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only a reload the person asked for: the first worker taking over an open page is not one.
    if (reloading) location.reload();
  });

  function offer(worker) {
    if (document.getElementById("update-prompt")) return;
    const prompt = document.createElement("div");
    prompt.id = "update-prompt";
    prompt.className = "update-prompt";
    prompt.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = words.text;
    const reload = document.createElement("button");
    reload.type = "button";
    reload.className = "accent";
    reload.textContent = words.reload;
    reload.addEventListener("click", () => {
      reloading = true;
      reload.disabled = true;
      worker.postMessage({ type: "skip-waiting" });
    });
    const later = document.createElement("button");
    later.type = "button";
    later.textContent = words.later;
    later.addEventListener("click", () => prompt.remove());
    prompt.append(text, reload, later);
    document.body.append(prompt);
  }

  function watch(worker) {
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
    });
  }

  window.addEventListener("load", async () => {
    let registration;
    try {
      registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    } catch (error) {
      console.warn("service worker not registered:", error);
      return;
    }
    if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
    if (registration.installing) watch(registration.installing);
    registration.addEventListener("updatefound", () => watch(registration.installing));
    // A tab left open for days still hears of new versions.
    const check = () => registration.update().catch(() => {});
    document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && check());
    setInterval(check, 30 * 60 * 1000);
  });
})();
