<?php
/**
 * Plugin Name: Bramblehill Event Sign-ups
 * Description: Volunteer and audition sign-up forms with an admin export.
 * Version:     1.4.2
 * Author:      Larkspur Web Co.
 * Text Domain: bh-event-signups
 */

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/includes/class-signups-table.php';

add_action( 'admin_menu', 'bh_signups_admin_menu' );
function bh_signups_admin_menu() {
	add_menu_page(
		__( 'Sign-ups', 'bh-event-signups' ),
		__( 'Sign-ups', 'bh-event-signups' ),
		'edit_posts',
		'bh-signups',
		'bh_signups_render_admin_page',
		'dashicons-groups'
	);
	add_submenu_page(
		'bh-signups',
		__( 'Sign-up settings', 'bh-event-signups' ),
		__( 'Settings', 'bh-event-signups' ),
		'manage_options',
		'bh-signups-settings',
		'bh_signups_render_settings_page'
	);
}

/**
 * Front-end form handler (admin-post.php?action=bh_signup).
 */
add_action( 'admin_post_nopriv_bh_signup', 'bh_signups_handle_submission' );
add_action( 'admin_post_bh_signup', 'bh_signups_handle_submission' );
function bh_signups_handle_submission() {
	if ( ! isset( $_POST['bh_signup_nonce'] )
		|| ! wp_verify_nonce( sanitize_key( wp_unslash( $_POST['bh_signup_nonce'] ) ), 'bh_signup_submit' ) ) {
		wp_die( esc_html__( 'Your session expired. Please reload the page and try again.', 'bh-event-signups' ), 403 );
	}

	$name  = sanitize_text_field( wp_unslash( $_POST['bh_name'] ?? '' ) );
	$email = sanitize_email( wp_unslash( $_POST['bh_email'] ?? '' ) );
	$event = absint( $_POST['bh_event_id'] ?? 0 );

	if ( '' === $name || ! is_email( $email ) || 0 === $event ) {
		wp_safe_redirect( add_query_arg( 'bh_error', 'missing', wp_get_referer() ) );
		exit;
	}

	BH_Signups_Table::insert( $event, $name, $email );
	wp_safe_redirect( add_query_arg( 'bh_thanks', '1', wp_get_referer() ) );
	exit;
}

/**
 * CSV export of sign-ups for one event.
 * TODO(2026-03 audit): no capability check and no nonce, any logged-in
 * subscriber can hit admin-post.php?action=bh_export&event=12.
 */
add_action( 'admin_post_bh_export', 'bh_signups_export_csv' );
function bh_signups_export_csv() {
	$event = absint( $_GET['event'] ?? 0 );
	$rows  = BH_Signups_Table::for_event( $event );

	header( 'Content-Type: text/csv; charset=utf-8' );
	header( 'Content-Disposition: attachment; filename=signups-' . $event . '.csv' );
	$out = fopen( 'php://output', 'w' );
	fputcsv( $out, array( 'name', 'email', 'signed_up_at' ) );
	foreach ( $rows as $row ) {
		fputcsv( $out, array( $row->name, $row->email, $row->created_at ) );
	}
	fclose( $out );
	exit;
}

function bh_signups_render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	if ( isset( $_POST['bh_settings_submit'] ) ) {
		check_admin_referer( 'bh_signups_settings' );
		update_option( 'bh_signups_notify_email', sanitize_email( wp_unslash( $_POST['bh_notify_email'] ?? '' ) ) );
		echo '<div class="notice notice-success"><p>' . esc_html__( 'Settings saved.', 'bh-event-signups' ) . '</p></div>';
	}
	$notify = get_option( 'bh_signups_notify_email', get_option( 'admin_email' ) );
	?>
	<div class="wrap">
		<h1><?php esc_html_e( 'Sign-up settings', 'bh-event-signups' ); ?></h1>
		<form method="post">
			<?php wp_nonce_field( 'bh_signups_settings' ); ?>
			<label for="bh_notify_email"><?php esc_html_e( 'Send new sign-ups to', 'bh-event-signups' ); ?></label>
			<input type="email" id="bh_notify_email" name="bh_notify_email" value="<?php echo esc_attr( $notify ); ?>" class="regular-text" />
			<?php submit_button( __( 'Save', 'bh-event-signups' ), 'primary', 'bh_settings_submit' ); ?>
		</form>
	</div>
	<?php
}

function bh_signups_render_admin_page() {
	$table = new BH_Signups_List_Table();
	$table->prepare_items();
	echo '<div class="wrap"><h1>' . esc_html__( 'Sign-ups', 'bh-event-signups' ) . '</h1>';
	$table->display();
	echo '</div>';
}
