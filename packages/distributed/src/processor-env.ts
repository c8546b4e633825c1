/** What a worker thread's processor is given through its environment (set by startWorker). */
export const PROCESSOR_ENV = { engine: 'BILEVEL_WORKER_ENGINE', plugins: 'BILEVEL_WORKER_PLUGINS', maxBytes: 'BILEVEL_WORKER_MAX_JOB_BYTES', name: 'BILEVEL_WORKER_NAME' } as const;
