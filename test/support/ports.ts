/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it), for a server a test starts. */
export { freeLoopbackPort as freePort } from '../../worker/ports';
