export {};
//# sourceMappingURL=request-state.js.map