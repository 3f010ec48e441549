package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Retention says how many restic snapshots to keep.
type Retention struct {
	// +kubebuilder:validation:Minimum=0
	KeepDaily int32 `json:"keepDaily,omitempty"`
	// +kubebuilder:validation:Minimum=0
	KeepWeekly int32 `json:"keepWeekly,omitempty"`
}

// Destination is where the mover Job copies the snapshot.
type Destination struct {
	// Bucket URL, e.g. s3://snapvault-backups/db
	// +kubebuilder:validation:Pattern=`^s3://[a-z0-9.\-]+(/.*)?$`
	Bucket string `json:"bucket"`

	// CredentialsSecretRef names a Secret in the policy's namespace with the
	// keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and RESTIC_PASSWORD.
	// The operator only checks that the keys exist; the mover Job mounts it.
	CredentialsSecretRef corev1.LocalObjectReference `json:"credentialsSecretRef"`
}

// SnapshotPolicySpec defines the desired state of SnapshotPolicy
type SnapshotPolicySpec struct {
	// Cron schedule in the controller's time zone (UTC by default).
	Schedule string `json:"schedule"`

	// Selector picks the PVCs in the namespace.
	Selector metav1.LabelSelector `json:"selector"`

	Retention   Retention   `json:"retention,omitempty"`
	Destination Destination `json:"destination"`

	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// SnapshotPolicyStatus defines the observed state of SnapshotPolicy
type SnapshotPolicyStatus struct {
	LastScheduleTime   *metav1.Time       `json:"lastScheduleTime,omitempty"`
	LastSuccessfulTime *metav1.Time       `json:"lastSuccessfulTime,omitempty"`
	Conditions         []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Last success",type=date,JSONPath=`.status.lastSuccessfulTime`

// SnapshotPolicy is the Schema for the snapshotpolicies API
type SnapshotPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SnapshotPolicySpec   `json:"spec,omitempty"`
	Status SnapshotPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SnapshotPolicyList contains a list of SnapshotPolicy
type SnapshotPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SnapshotPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SnapshotPolicy{}, &SnapshotPolicyList{})
}
