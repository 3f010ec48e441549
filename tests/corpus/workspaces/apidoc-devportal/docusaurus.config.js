// @ts-check
// notes: 0
const { themes } = require('prism-react-renderer');

/** @type {import('@docusaurus/types').Config} */
const config = {
  title: 'Parcelwise Developers',
  tagline: 'Shipping labels, rates and tracking over one REST API',
  url: 'https://developers.parcelwise.example',
  baseUrl: '/',
  onBrokenLinks: 'throw',
  onBrokenMarkdownLinks: 'warn',
  favicon: 'img/favicon.ico',

  presets: [
    [
      'classic',
      {
        docs: {
          sidebarPath: require.resolve('./sidebars.js'),
          editUrl: 'https://github.com/parcelwise/developer-portal/edit/main/',
          docItemComponent: '@theme/ApiItem',
        },
        blog: false,
        theme: { customCss: require.resolve('./src/css/custom.css') },
      },
    ],
  ],

  plugins: [
    [
      'docusaurus-plugin-openapi-docs',
      {
        id: 'api',
        docsPluginId: 'classic',
        config: {
          parcelwise: {
            specPath: 'openapi/parcelwise.yaml',
            outputDir: 'docs/reference',
            sidebarOptions: { groupPathsBy: 'tag' },
          },
        },
      },
    ],
  ],

  themes: ['docusaurus-theme-openapi-docs'],

  themeConfig: {
    navbar: {
      title: 'Parcelwise',
      items: [
        { type: 'doc', docId: 'quickstart', label: 'Quickstart', position: 'left' },
        { to: '/docs/reference/parcelwise-api', label: 'API reference', position: 'left' },
        { to: '/docs/changelog', label: 'Changelog', position: 'left' },
        { href: 'https://status.parcelwise.example', label: 'Status', position: 'right' },
      ],
    },
    algolia: {
      appId: 'PW0DOCS',
      // search-only key, safe to ship to browsers; the admin key is only in CI
      apiKey: process.env.ALGOLIA_SEARCH_KEY || 'search-only-key-set-in-ci',
      indexName: 'parcelwise_developers',
    },
    prism: {
      theme: themes.github,
      darkTheme: themes.dracula,
      additionalLanguages: ['bash', 'json', 'go', 'python', 'ruby', 'php'],
    },
  },
};

module.exports = config;
