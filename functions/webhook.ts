// Placeholder: replaced by the real webhook handler.
export const handler = async () => ({ statusCode: 503, body: 'not ready' });
