package controller

import (
	"context"
	"fmt"
	"time"

	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	backupv1alpha1 "github.com/snapvault/snapvault-operator/api/v1alpha1"
)

var requiredSecretKeys = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "RESTIC_PASSWORD"}

// SnapshotPolicyReconciler reconciles a SnapshotPolicy object
type SnapshotPolicyReconciler struct {
	client.Client
	Scheme *runtime.Scheme
	Clock  func() time.Time
}

// +kubebuilder:rbac:groups=backup.snapvault.io,resources=snapshotpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=backup.snapvault.io,resources=snapshotpolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=backup.snapvault.io,resources=snapshotpolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=snapshot.storage.k8s.io,resources=volumesnapshots,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete

func (r *SnapshotPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)

	var policy backupv1alpha1.SnapshotPolicy
	if err := r.Get(ctx, req.NamespacedName, &policy); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if policy.Spec.Suspend {
		return ctrl.Result{}, nil
	}

	// The Secret must exist and carry the keys; its values are never read into logs or status.
	var creds corev1.Secret
	key := types.NamespacedName{Namespace: policy.Namespace, Name: policy.Spec.Destination.CredentialsSecretRef.Name}
	if err := r.Get(ctx, key, &creds); err != nil {
		if apierrors.IsNotFound(err) {
			r.setCondition(&policy, "CredentialsReady", metav1.ConditionFalse, "SecretNotFound",
				fmt.Sprintf("secret %q not found", key.Name))
			_ = r.Status().Update(ctx, &policy)
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		}
		return ctrl.Result{}, err
	}
	for _, k := range requiredSecretKeys {
		if _, ok := creds.Data[k]; !ok {
			r.setCondition(&policy, "CredentialsReady", metav1.ConditionFalse, "MissingKey",
				fmt.Sprintf("secret %q has no key %s", key.Name, k))
			_ = r.Status().Update(ctx, &policy)
			return ctrl.Result{RequeueAfter: time.Minute}, nil
		}
	}

	sched, err := cron.ParseStandard(policy.Spec.Schedule)
	if err != nil {
		logger.Error(err, "invalid schedule", "schedule", policy.Spec.Schedule)
		return ctrl.Result{}, nil
	}
	now := r.Clock()
	next := sched.Next(now)
	logger.V(1).Info("next run", "at", next)

	// TODO: create VolumeSnapshots for the selected PVCs and the mover Job
	_ = snapshotv1.VolumeSnapshot{}

	return ctrl.Result{RequeueAfter: next.Sub(now)}, nil
}

func (r *SnapshotPolicyReconciler) setCondition(p *backupv1alpha1.SnapshotPolicy, t string, s metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{
		Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: p.Generation,
	})
}

// SetupWithManager sets up the controller with the Manager.
func (r *SnapshotPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&backupv1alpha1.SnapshotPolicy{}).
		Complete(r)
}
