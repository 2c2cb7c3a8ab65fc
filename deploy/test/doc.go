// Package deploytest holds the tests of weft's deployment files: the
// Dockerfile, the Kubernetes manifests (kustomize base and overlays), the
// Helm chart, the Azure Container Apps template and the compose stack. It
// is a module of its own so that the Kubernetes, kustomize and Helm
// libraries stay out of weft's requirements.
package deploytest
