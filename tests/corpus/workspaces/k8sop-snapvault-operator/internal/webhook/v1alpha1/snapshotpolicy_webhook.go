package v1alpha1

import (
	"context"
	"fmt"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	backupv1alpha1 "github.com/snapvault/snapvault-operator/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-backup-snapvault-io-v1alpha1-snapshotpolicy,mutating=true,failurePolicy=fail,sideEffects=None,groups=backup.snapvault.io,resources=snapshotpolicies,verbs=create;update,versions=v1alpha1,name=msnapshotpolicy.kb.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-backup-snapvault-io-v1alpha1-snapshotpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=backup.snapvault.io,resources=snapshotpolicies,verbs=create;update,versions=v1alpha1,name=vsnapshotpolicy.kb.io,admissionReviewVersions=v1

type SnapshotPolicyCustomDefaulter struct{}
type SnapshotPolicyCustomValidator struct{}

func SetupSnapshotPolicyWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr).For(&backupv1alpha1.SnapshotPolicy{}).
		WithDefaulter(&SnapshotPolicyCustomDefaulter{}).
		WithValidator(&SnapshotPolicyCustomValidator{}).
		Complete()
}

var _ webhook.CustomDefaulter = &SnapshotPolicyCustomDefaulter{}

func (d *SnapshotPolicyCustomDefaulter) Default(ctx context.Context, obj runtime.Object) error {
	p, ok := obj.(*backupv1alpha1.SnapshotPolicy)
	if !ok {
		return fmt.Errorf("expected a SnapshotPolicy, got %T", obj)
	}
	if p.Spec.Retention.KeepDaily == 0 && p.Spec.Retention.KeepWeekly == 0 {
		p.Spec.Retention.KeepDaily = 7
	}
	return nil
}

var _ webhook.CustomValidator = &SnapshotPolicyCustomValidator{}

func (v *SnapshotPolicyCustomValidator) ValidateCreate(ctx context.Context, obj runtime.Object) (admission.Warnings, error) {
	return validate(obj)
}

func (v *SnapshotPolicyCustomValidator) ValidateUpdate(ctx context.Context, oldObj, newObj runtime.Object) (admission.Warnings, error) {
	return validate(newObj)
}

func (v *SnapshotPolicyCustomValidator) ValidateDelete(ctx context.Context, obj runtime.Object) (admission.Warnings, error) {
	return nil, nil
}

func validate(obj runtime.Object) (admission.Warnings, error) {
	p, ok := obj.(*backupv1alpha1.SnapshotPolicy)
	if !ok {
		return nil, fmt.Errorf("expected a SnapshotPolicy, got %T", obj)
	}
	if _, err := cron.ParseStandard(p.Spec.Schedule); err != nil {
		return nil, fmt.Errorf("spec.schedule: %w", err)
	}
	return nil, nil
}
