#!/usr/bin/env python3
"""Writes crlogin's container image, without a container engine, as an OCI image layout in DIR:
FROM scratch, the static binary at /crlogin and a CA bundle at /etc/ssl/certs/ca-certificates.crt,
one image per architecture under one index tagged TAG (multi-arch), so users can
`COPY --from=IMAGE:TAG /crlogin /usr/local/bin/` and `skopeo copy --all oci:DIR:TAG docker://...`
pushes it. Timestamps come from SOURCE_DATE_EPOCH (default 0): the same inputs give the same digests.
Usage: make-release-image.py DIR TAG ARCH=BINARY... (ARCH: amd64, arm64), CA_BUNDLE env to override."""
import gzip, hashlib, io, json, os, sys, tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CA = "etc/ssl/certs/ca-certificates.crt"

def blob(root, data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

def layer_tar(binary, ca_bundle, mtime):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("etc", "etc/ssl", "etc/ssl/certs"):
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for name, path, mode in ((CA, ca_bundle, 0o644), ("crlogin", binary, 0o755)):
            data = open(path, "rb").read()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, mtime
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()

def main(root, tag, pairs):
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    ca_bundle = os.environ.get("CA_BUNDLE", "/" + CA)
    created = __import__("datetime").datetime.fromtimestamp(mtime, __import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifests = []
    for pair in pairs:
        arch, binary = pair.split("=", 1)
        if arch not in ("amd64", "arm64"):
            sys.exit(f"make-release-image: unknown architecture {arch} (amd64, arm64)")
        tar = layer_tar(binary, ca_bundle, mtime)
        layer = blob(root, gzip.compress(tar, mtime=0), LAYER)
        config = {
            "created": created, "architecture": arch, "os": "linux",
            "config": {"Entrypoint": ["/crlogin"], "Env": ["SSL_CERT_FILE=/" + CA],
                       "Labels": {"org.opencontainers.image.version": tag,
                                  "org.opencontainers.image.title": "crlogin"}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
            "history": [{"created": created, "created_by": "scripts/make-release-image.py"}],
        }
        config_desc = blob(root, json.dumps(config, sort_keys=True).encode(), CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": [layer]}
        desc = blob(root, json.dumps(manifest, sort_keys=True).encode(), MANIFEST)
        manifests.append({**desc, "platform": {"architecture": arch, "os": "linux"}})
    image_index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    index_desc = blob(root, json.dumps(image_index, sort_keys=True).encode(), "application/vnd.oci.image.index.v1+json")
    layout_index = {"schemaVersion": 2, "manifests": [{**index_desc, "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump(layout_index, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
