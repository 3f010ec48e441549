<?php
/**
 * WordPress configuration for bramblehill-theatre.example.
 *
 * Every credential comes from the environment; see README.md ("Where secrets
 * live"). Do not paste real values into this file.
 */

// ** Database settings ** //
define( 'DB_NAME',     getenv( 'WORDPRESS_DB_NAME' ) ?: 'bramblehill' );
define( 'DB_USER',     getenv( 'WORDPRESS_DB_USER' ) ?: 'bramblehill' );
define( 'DB_PASSWORD', getenv( 'WORDPRESS_DB_PASSWORD' ) );
define( 'DB_HOST',     getenv( 'WORDPRESS_DB_HOST' ) ?: '127.0.0.1:3307' );
define( 'DB_CHARSET',  'utf8mb4' );
define( 'DB_COLLATE',  '' );

$table_prefix = getenv( 'WORDPRESS_TABLE_PREFIX' ) ?: 'bh_';

// ** Authentication unique keys and salts ** //
// Generated once per environment (`wp config shuffle-salts` on the server, or
// https://api.wordpress.org/secret-key/1.1/salt/) and stored with the DB password.
foreach ( array( 'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
                 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT' ) as $bh_key ) {
	define( $bh_key, getenv( 'WP_' . $bh_key ) ?: 'local-dev-only-' . strtolower( $bh_key ) );
}
unset( $bh_key );

// ** Environment ** //
define( 'WP_ENVIRONMENT_TYPE', getenv( 'WP_ENVIRONMENT_TYPE' ) ?: 'local' );
define( 'WP_HOME',    getenv( 'WP_HOME' ) ?: 'http://localhost:8080' );
define( 'WP_SITEURL', WP_HOME );

define( 'WP_DEBUG', 'local' === WP_ENVIRONMENT_TYPE );
define( 'WP_DEBUG_LOG', WP_DEBUG );
define( 'WP_DEBUG_DISPLAY', false );

// notes: 0

/* That's all, stop editing! Happy publishing. */
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/wp/' );
}
require_once ABSPATH . 'wp-settings.php';
