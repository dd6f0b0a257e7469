/**
 * A stand-in kube-apiserver for tests that run real load balancers in front of it (run with `node --import tsx`):
 * HTTPS with the given certificate on 0.0.0.0:<port>; GET /readyz answers 200 "ok" while ready, 500 otherwise
 * (like kube-apiserver with a failed check); every other path answers 200 with the server's name.
 *
 *   SIGUSR1  become unready        SIGUSR2  become ready again
 *   SIGTERM  shut down like kube-apiserver with --shutdown-delay-duration: /readyz fails at once, requests are
 *            still served for the delay, then the listener closes and the process exits
 *   SIGKILL  (from outside) an abrupt stop: connections are refused
 *
 * Prints "listening" once it accepts connections.
 *   node --import tsx stand-in-apiserver.ts <name> <cert> <key> <port> <shutdown delay ms>
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [name, certFile, keyFile, portText, delayText] = process.argv.slice(2);
if (!name || !certFile || !keyFile || !portText || !delayText) {
  console.error("usage: stand-in-apiserver.ts <name> <cert> <key> <port> <shutdown delay ms>");
  process.exit(2);
}

let ready = true;
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (request, response) => {
  if (request.url === "/readyz") {
    response.writeHead(ready ? 200 : 500, { "content-type": "text/plain" });
    response.end(ready ? "ok" : "[-]etcd failed: reason withheld\nreadyz check failed");
    return;
  }
  response.writeHead(200, { "content-type": "text/plain" });
  response.end(name);
});

process.on("SIGUSR1", () => (ready = false));
process.on("SIGUSR2", () => (ready = true));
process.on("SIGTERM", () => {
  ready = false;
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // Whatever is still open after a second is cut, as kube-apiserver does once its requests are done.
    setTimeout(() => process.exit(0), 1000).unref();
  }, Number(delayText));
});

server.listen(Number(portText), "0.0.0.0", () => console.log("listening"));
