import { useBackend } from '@bilevel/core';

// Every test file runs on the backend named by BILEVEL_BACKEND (default wasm).
await useBackend(process.env.BILEVEL_BACKEND ?? 'wasm');
