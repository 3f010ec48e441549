<?php
/**
 * WordPress configuration for wholesale.lindenloom.example (WooCommerce B2B).
 * Every credential is read from the environment (set by the host's
 * systemd drop-in / the container's env_file); nothing secret lives here.
 */

define( 'DB_NAME',     getenv( 'WP_DB_NAME' ) ?: 'wholesale' );
define( 'DB_USER',     getenv( 'WP_DB_USER' ) ?: 'wholesale' );
define( 'DB_PASSWORD', getenv( 'WP_DB_PASSWORD' ) );
define( 'DB_HOST',     getenv( 'WP_DB_HOST' ) ?: 'localhost:3306' );
define( 'DB_CHARSET',  'utf8mb4' );
define( 'DB_COLLATE',  '' );

/* Authentication keys and salts: generated per environment, injected as env vars. */
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
                 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $wp_salt ) {
	define( $wp_salt, getenv( 'WP_' . $wp_salt ) );
}

$table_prefix = 'wp_';

define( 'WP_ENVIRONMENT_TYPE', getenv( 'WP_ENVIRONMENT_TYPE' ) ?: 'production' );
define( 'WP_DEBUG', false );
define( 'WP_DEBUG_LOG', '/var/log/wordpress/debug.log' );
define( 'DISALLOW_FILE_EDIT', true );
define( 'FORCE_SSL_ADMIN', true );
define( 'WP_AUTO_UPDATE_CORE', 'minor' );

/* Payment gateways (read by mu-plugins/ll-gateway-env.php). */
define( 'LL_STRIPE_SECRET_KEY',      getenv( 'STRIPE_SECRET_KEY' ) );
define( 'LL_STRIPE_PUBLISHABLE_KEY', getenv( 'STRIPE_PUBLISHABLE_KEY' ) );
define( 'LL_STRIPE_WEBHOOK_SECRET',  getenv( 'STRIPE_WEBHOOK_SECRET' ) );
define( 'LL_PAYPAL_CLIENT_ID',       getenv( 'PAYPAL_CLIENT_ID' ) );
define( 'LL_PAYPAL_CLIENT_SECRET',   getenv( 'PAYPAL_CLIENT_SECRET' ) );

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
