/**
 * V8 flags for every process of the suite: the test workers and the children tests start. Each
 * process opens PGlite for seconds, and V8's optimizing compiler, working through PGlite's
 * WebAssembly in the background, costs more CPU in so short a life than its faster code gives back
 * (the PGlite suite took 159 and 171 s on baseline code only, against 202 and 251 s with it, on the
 * same machine in the same hour). Benchmarks run with V8's defaults, as a long-lived service does.
 */
export const suiteNodeFlags = ['--liftoff-only'];
