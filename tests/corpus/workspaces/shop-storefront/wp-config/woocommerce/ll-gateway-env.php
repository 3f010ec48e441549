<?php
/**
 * Plugin Name: L&L gateway settings from environment
 * Description: Overrides the WooCommerce Stripe and PayPal settings so the
 *              API keys never sit in wp_options. Test mode follows
 *              WP_ENVIRONMENT_TYPE (staging/development = test keys).
 */

defined( 'ABSPATH' ) || exit;

add_filter( 'option_woocommerce_stripe_settings', function ( $settings ) {
	$settings = is_array( $settings ) ? $settings : array();
	$test     = 'production' !== wp_get_environment_type();

	$settings['enabled']         = 'yes';
	$settings['testmode']        = $test ? 'yes' : 'no';
	$settings['capture']         = 'yes';
	$settings['payment_request'] = 'yes'; // Apple Pay / Google Pay buttons
	$settings['statement_descriptor'] = 'LINDEN LOOM';

	if ( $test ) {
		$settings['test_publishable_key'] = LL_STRIPE_PUBLISHABLE_KEY; // pk_test_...
		$settings['test_secret_key']      = LL_STRIPE_SECRET_KEY;      // sk_test_...
		$settings['test_webhook_secret']  = LL_STRIPE_WEBHOOK_SECRET;  // whsec_...
	} else {
		$settings['publishable_key'] = LL_STRIPE_PUBLISHABLE_KEY;
		$settings['secret_key']      = LL_STRIPE_SECRET_KEY;
		$settings['webhook_secret']  = LL_STRIPE_WEBHOOK_SECRET;
	}
	return $settings;
} );

add_filter( 'option_woocommerce-ppcp-settings', function ( $settings ) {
	$settings = is_array( $settings ) ? $settings : array();
	$settings['sandbox_on']    = 'production' !== wp_get_environment_type();
	$settings['client_id']     = LL_PAYPAL_CLIENT_ID;
	$settings['client_secret'] = LL_PAYPAL_CLIENT_SECRET;
	$settings['intent']        = 'capture';
	$settings['brand_name']    = 'Linden & Loom Wholesale';
	return $settings;
} );

/* Refuse to boot the checkout with live keys outside production. */
add_action( 'woocommerce_init', function () {
	if ( 'production' !== wp_get_environment_type() && 0 === strpos( (string) LL_STRIPE_SECRET_KEY, 'sk_live_' ) ) {
		wc_get_logger()->critical( 'Live Stripe key configured outside production; disabling gateway.', array( 'source' => 'll-gateway-env' ) );
		add_filter( 'woocommerce_available_payment_gateways', fn( $g ) => array_diff_key( $g, array( 'stripe' => 1 ) ) );
	}
} );
