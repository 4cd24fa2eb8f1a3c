#!/usr/bin/env bash
# Per-pod federation for a self-managed cluster on Nebius VMs (kubeadm or similar, Kubernetes
# 1.34+): each pod pulls from Nebius Container Registry as the Nebius service account its
# ServiceAccount names, with no key, static key or pull secret anywhere.
#
#   setup.sh nebius   # once, where the nebius CLI and kubectl work: the federated credential
#   setup.sh node     # on each node, as root: crlogin as the kubelet's credential provider
#   setup.sh apply    # once, with kubectl: the node audience RBAC and the example workload
#
# Before: the cluster's service-account issuer (kube-apiserver --service-account-issuer) must be
# an HTTPS URL Nebius IAM can reach, serving /.well-known/openid-configuration and the JWKS
# (`kubectl get --raw /openid/v1/jwks`), e.g. two public objects in a bucket, with
# --service-account-jwks-uri pointing at the JWKS. The kubeadm default
# (https://kubernetes.default.svc.cluster.local) is reachable only inside the cluster.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
NAMESPACE=${NAMESPACE:-team-a}
KSA=${KSA:-puller}
IMAGE=${IMAGE:-cr.eu-north1.nebius.cloud/e00registry/app:v1}
PLUGINS=/usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec
CONFIG=/etc/kubernetes/credential-provider-config.yaml

case "${1:-}" in
  nebius)
    : "${PROJECT_ID:?the Nebius project (parent) id}"
    : "${NEBIUS_SA:?the Nebius service account the pods pull as, serviceaccount-...}"
    # The issuer exactly as it appears in the pods' tokens.
    issuer=$(kubectl get --raw /.well-known/openid-configuration | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')
    nebius iam federated-credentials create \
      --parent-id "$PROJECT_ID" \
      --name "k8s-$NAMESPACE-$KSA" \
      --subject-id "$NEBIUS_SA" \
      --oidc-provider-issuer-url "$issuer" \
      --federated-subject-id "system:serviceaccount:$NAMESPACE:$KSA"
    echo "Give $NEBIUS_SA a role that may pull from the registry (container-registry.images.puller or wider)."
    ;;
  node)
    install -d "$PLUGINS"
    ln -sf "$(command -v crlogin)" "$PLUGINS/crlogin-credential-provider"
    install -m 0644 "$here/credential-provider-config.yaml" "$CONFIG"
    # kubeadm's kubelet reads its extra flags from here (other installers: the kubelet's unit).
    cat >/etc/default/kubelet <<EOF
KUBELET_EXTRA_ARGS=--image-credential-provider-config=$CONFIG --image-credential-provider-bin-dir=$PLUGINS
EOF
    systemctl restart kubelet
    CRLOGIN_KUBELET_CONFIG=$CONFIG crlogin doctor --region eu-north1 || true
    ;;
  apply)
    : "${NEBIUS_SA:?the Nebius service account the pods pull as, serviceaccount-...}"
    kubectl apply -f "$here/node-audience-rbac.yaml"
    sed -e "s|serviceaccount-e00teamapuller|$NEBIUS_SA|" \
      -e "s|cr.eu-north1.nebius.cloud/e00registry/app:v1|$IMAGE|" \
      -e "s|team-a|$NAMESPACE|" -e "s|name: puller|name: $KSA|" -e "s|serviceAccountName: puller|serviceAccountName: $KSA|" \
      "$here/workload.yaml" | kubectl apply -f -
    kubectl -n "$NAMESPACE" wait --for=condition=Ready pod/app --timeout=120s
    ;;
  *)
    echo "usage: $0 nebius|node|apply" >&2
    exit 2
    ;;
esac
