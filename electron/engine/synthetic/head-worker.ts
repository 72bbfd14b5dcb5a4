/** Entry of a demo worker thread (write.ts): makes each head it is sent and writes it at its place. */
import { parentPort, workerData } from 'node:worker_threads';
import { syntheticHeads } from './generator.js';
import { writeHead, type HeadJob, type HeadReply, type HeadWorkerData } from './write.js';

const { options, fd, cancel } = workerData as HeadWorkerData;
const headChunks = syntheticHeads(options);
const port = parentPort!;

port.on('message', (job: HeadJob) => {
  const reply = (message: HeadReply): void => port.postMessage(message);
  writeHead(headChunks, fd, job, cancel).then(
    () => reply({}),
    (error: NodeJS.ErrnoException) => reply({ error: { message: error.message, code: error.code } }),
  );
});
