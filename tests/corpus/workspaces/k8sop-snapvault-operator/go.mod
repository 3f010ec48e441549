module github.com/snapvault/snapvault-operator

go 1.22.0

require (
	github.com/kubernetes-csi/external-snapshotter/client/v8 v8.0.0
	github.com/onsi/ginkgo/v2 v2.19.0
	github.com/onsi/gomega v1.33.1
	github.com/robfig/cron/v3 v3.0.1
	k8s.io/api v0.30.2
	k8s.io/apimachinery v0.30.2
	k8s.io/client-go v0.30.2
	sigs.k8s.io/controller-runtime v0.18.4
)
