<?php
defined( 'ABSPATH' ) || exit;

class BH_Signups_Table {

	public static function table_name() {
		global $wpdb;
		return $wpdb->prefix . 'bh_signups';
	}

	public static function insert( $event_id, $name, $email ) {
		global $wpdb;
		return $wpdb->insert(
			self::table_name(),
			array(
				'event_id'   => (int) $event_id,
				'name'       => $name,
				'email'      => $email,
				'created_at' => current_time( 'mysql', true ),
			),
			array( '%d', '%s', '%s', '%s' )
		);
	}

	public static function for_event( $event_id ) {
		global $wpdb;
		// Table names cannot be placeholders; the value is built from $wpdb->prefix only.
		$table = self::table_name();
		return $wpdb->get_results(
			$wpdb->prepare( "SELECT name, email, created_at FROM {$table} WHERE event_id = %d ORDER BY created_at", $event_id )
		);
	}
}
