// Placeholder: replaced by the real sender handler.
export const handler = async () => ({ batchItemFailures: [] });
