<?php
/**
 * Plugin Name: Bramblehill hardening (must-use)
 * Description: Site-wide hardening that must not be switched off from wp-admin.
 */

defined( 'ABSPATH' ) || exit;

// Hide the WordPress version from the generator meta tag and feeds.
remove_action( 'wp_head', 'wp_generator' );
add_filter( 'the_generator', '__return_empty_string' );

// Stop user enumeration through ?author=N redirects for visitors.
add_action( 'template_redirect', function () {
	if ( ! is_user_logged_in() && isset( $_GET['author'] ) ) {
		wp_safe_redirect( home_url( '/' ), 301 );
		exit;
	}
} );
