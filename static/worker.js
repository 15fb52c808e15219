// The analysis worker: the same wasm module as the page, loaded in a module worker, so
// parsing and diagnosis never block the page. Requests are queued until the module is ready;
// a crash is reported to the page in words (the page also listens for the worker's errors).
import init, { worker_analyse } from './pkg/web.js';

const ready = init({ module_or_path: new URL('./pkg/web_bg.wasm', import.meta.url) });

self.onmessage = async (event) => {
  try {
    await ready;
    await worker_analyse(event.data);
  } catch (err) {
    self.postMessage(JSON.stringify({
      kind: 'failed',
      crashed: true,
      message: `the analysis stopped: ${err && err.message ? err.message : err}`,
    }));
  }
};
