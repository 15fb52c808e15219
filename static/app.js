// Loads the wasm module and mounts the Yew app. No inline script: the CSP forbids it.
import init, { run_app, run_about } from './pkg/web.js';

const wasm = new URL('./pkg/web_bg.wasm', import.meta.url);
// The module's SHA-384, written into index.html by `cargo xtask dist` beside this script's
// own: a changed web_bg.wasm is refused, as a changed app.js or pkg/web.js is.
const integrity = document.querySelector('script[data-wasm-integrity]')?.dataset.wasmIntegrity;

try {
  await init({ module_or_path: integrity ? fetch(wasm, { integrity }) : wasm });
  document.getElementById('loading')?.remove();
  run_app();
  run_about();
} catch (err) {
  const p = document.getElementById('loading') ?? document.body.appendChild(document.createElement('p'));
  p.className = 'banner error';
  p.textContent = `rdpfix could not start in this browser: ${err}`;
}

// The offline copy (sw.js). A new release waits until the admin chooses to switch, so a page
// never runs half one release and half the next.
function offerUpdate(worker) {
  if (document.querySelector('[data-testid="update-ready"]')) return;
  const p = document.createElement('p');
  p.className = 'banner';
  p.dataset.testid = 'update-ready';
  p.textContent = 'A new release of rdpfix is downloaded. ';
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Use it now (reloads the page)';
  button.addEventListener('click', () => {
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload());
    worker.postMessage('activate');
  });
  p.append(button);
  document.body.prepend(p);
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('sw.js', { scope: './' })
    .then((reg) => {
      if (reg.waiting && navigator.serviceWorker.controller) offerUpdate(reg.waiting);
      reg.addEventListener('updatefound', () => {
        const worker = reg.installing;
        worker?.addEventListener('statechange', () => {
          if (worker.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(worker);
        });
      });
    })
    .catch((err) => console.warn(`rdpfix: no offline copy (${err})`));
}
