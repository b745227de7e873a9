// Node's http module as `require` hands it out. An ES `import` from 'node:http' builds the whole
// module namespace, and reading its lazy WebSocket, MessageEvent and CloseEvent exports loads
// Node's bundled fetch stack (undici): ~4 MB of RSS in every gateway, for nothing we use.
// Types still come from `import type`, which loads nothing.
export const http = process.getBuiltinModule('node:http');
