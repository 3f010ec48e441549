module.exports = {
  docs: [
    'quickstart',
    'authentication',
    {
      type: 'category',
      label: 'Guides',
      items: ['guides/rate-limits', 'guides/idempotency', 'guides/pagination'],
    },
    {
      type: 'category',
      label: 'Webhooks',
      items: ['webhooks/overview', 'webhooks/verify-signatures'],
    },
    'changelog',
  ],
};
