/** Overlays in the shape of seed 003's microservices-demo repository, written the way people really write them. */

export const BASE_KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - cartservice.yaml
  - frontend.yaml
  - emailservice.yaml
`;

export const STAGING_KUSTOMIZATION = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: microservices-demo-staging
resources:
  - ../base
images:
  - name: cartservice
    newName: registry.digitalocean.com/microservices-demo/cartservice
    newTag: v1.0.1
  - name: frontend
    newName: registry.digitalocean.com/microservices-demo/frontend
    newTag: v1.0.1
  - name: emailservice
    newName: registry.digitalocean.com/microservices-demo/emailservice
    newTag: v1.0.0
`;

/** Comments everywhere, a document marker, odd indentation and spacing, both quote styles, a flow entry. */
export const PROD_KUSTOMIZATION = `---
# Production overlay: changes here reach customers within 3 minutes (Argo CD auto-sync).
# Owner: platform team. Promotions go through a pull request; see docs/promotion.md.
apiVersion: kustomize.config.k8s.io/v1beta1
kind:   Kustomization
namespace: microservices-demo-prod   # keep in sync with the Argo CD Application

resources:
  - ../base

commonLabels:
  environment: "prod"

images:    # pinned per release, promoted from staging
  # cart: the Redis-backed one
  - name: cartservice
    newName: registry.digitalocean.com/microservices-demo/cartservice
    newTag:   "v1.0.0"     # released 2026-10-02

  -   name: frontend
      newName: 'registry.digitalocean.com/microservices-demo/frontend'
      newTag: 'v1.0.0'
  - { name: emailservice, newName: registry.digitalocean.com/microservices-demo/emailservice, newTag: v1.0.0 }
  # redis is not built by us; prod pins it on its own.
  - name: redis
    newTag: 7.2-alpine

patches:
  - path: replicas.yaml   # prod runs 3 of everything
`;

/** PROD_KUSTOMIZATION as it must read after promoting STAGING_KUSTOMIZATION: only two values differ. */
export const PROD_KUSTOMIZATION_PROMOTED = PROD_KUSTOMIZATION.replace(
  `newTag:   "v1.0.0"     # released 2026-10-02`,
  `newTag:   "v1.0.1"     # released 2026-10-02`,
).replace(`newTag: 'v1.0.0'`, `newTag: 'v1.0.1'`);
