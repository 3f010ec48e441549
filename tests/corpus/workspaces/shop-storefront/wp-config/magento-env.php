<?php
// app/etc/env.php for the legacy Magento 2.4 B2C store (read-only archive site).
// Payment credentials are resolved from environment variables at deploy time via
// bin/magento config:set --lock-env; this file only names them.
return [
    'backend' => ['frontName' => getenv('MAGENTO_ADMIN_PATH') ?: 'admin_ll'],
    'crypt' => ['key' => getenv('MAGENTO_CRYPT_KEY')],
    'db' => [
        'table_prefix' => '',
        'connection' => [
            'default' => [
                'host' => getenv('MAGENTO_DB_HOST'),
                'dbname' => 'magento',
                'username' => getenv('MAGENTO_DB_USER'),
                'password' => getenv('MAGENTO_DB_PASSWORD'),
                'model' => 'mysql4',
                'engine' => 'innodb',
                'initStatements' => 'SET NAMES utf8;',
                'active' => '1',
            ],
        ],
    ],
    'MAGE_MODE' => 'production',
    'system' => [
        'default' => [
            'payment' => [
                'braintree' => [
                    'active' => '0',
                    'environment' => 'sandbox',
                    'merchant_id' => getenv('BRAINTREE_MERCHANT_ID'),
                    'public_key' => getenv('BRAINTREE_PUBLIC_KEY'),
                    'private_key' => getenv('BRAINTREE_PRIVATE_KEY'),
                ],
                'checkmo' => ['active' => '0'],
            ],
            'web' => ['secure' => ['use_in_frontend' => '1', 'use_in_adminhtml' => '1']],
        ],
    ],
];
