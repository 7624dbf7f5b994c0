#!/usr/bin/env bash
# Fetches what pose synthesis needs (docs/pose-synthesis.md), from two npm packages, checked by
# sha256 so that the check needs no network:
#   - @vladmandic/human@3.3.6 (MIT): models/facemesh.json + facemesh.bin, MediaPipe's 468-point
#     face landmark network as a TF.js graph model (tsgan::models::FaceMesh);
#   - @mediapipe/face_mesh@0.4.1657299874 (Apache-2.0): the canonical face mesh (468 vertices with
#     UV coordinates, 898 triangles), which lives in geometry_pipeline_metadata_landmarks.binarypb
#     inside face_mesh_solution_packed_assets.data. This script cuts that protobuf out of the pack
#     and decodes it into face_mesh_canonical.txt (the format is in tsgan/render/canonical_mesh.hpp),
#     the only file of that package it installs;
#   - from human's source (src/face/facemeshcoords.ts, VTX68): which of the 468 points stands for
#     each of the 68 iBUG points, into face_mesh_68.txt ("tsgan-face-mesh-68 1", then 68 vertex
#     indices, one a line; read by tsgan/models/face_mesh.hpp).
#
# Usage: scripts/fetch-face-mesh.sh [--dir DIR]
#   DIR defaults to $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models (where tsgan looks for models).
# Idempotent: when every file is present and verified it touches no network and prints DIR.
# On success the last line of stdout is DIR. Needs npm, node (for the integrity check) and python3.
set -euo pipefail

human_package="@vladmandic/human@3.3.6"
human_tgz="vladmandic-human-3.3.6.tgz"
human_sha1="74397dcda15109f52db36de098de823b8497ddc5"
mesh_package="@mediapipe/face_mesh@0.4.1657299874"
mesh_tgz="mediapipe-face_mesh-0.4.1657299874.tgz"
mesh_sha1="3e042d4e89771b28ae14eea10e077076894673ee"
# Where the metadata lies in the pack, as the package's own face_mesh_solution_packed_assets_loader.js lists it.
pack_member="package/face_mesh_solution_packed_assets.data"
meta_start=3737848
meta_end=3757224
meta_sha256="bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4"

files=(facemesh.json facemesh.bin face_mesh_canonical.txt face_mesh_68.txt)
declare -A sha256=(
  [facemesh.json]=b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7
  [facemesh.bin]=3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b
  [face_mesh_canonical.txt]=06396ae982ee24b0273bc3396ad1c235f09aceba916b0936bc0822e6d83087d2
  [face_mesh_68.txt]=3f75f89498f0f7aee5184eb233898f06056154aa5a9da39699efc8a79b6f5249
)

fetch_name=fetch-face-mesh
usage_end=18
# shellcheck source=scripts/lib/npm-fetch.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/npm-fetch.sh"
parse_dir_option "$@"
exit_if_installed

for tool in npm node python3 tar; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/setup.sh installs Node.js and npm)"
done
make_work_dir

if want facemesh.json || want facemesh.bin || want face_mesh_68.txt; then
  npm_pack_pinned "$human_package" "$human_tgz" "$human_sha1"
  tar -xzf "$work/$human_tgz" -C "$work" package/models/facemesh.json package/models/facemesh.bin \
    package/src/face/facemeshcoords.ts 2>"$work/tar.err" ||
    die "cannot extract models/facemesh.* and src/face/facemeshcoords.ts from $human_package: $(cat "$work/tar.err")"
  mv -f -- "$work/package/models/facemesh.json" "$work/package/models/facemesh.bin" "$work/"
  python3 - "$work/package/src/face/facemeshcoords.ts" "$work/face_mesh_68.txt" <<'PY' ||
# The array literal VTX68 (comments inside it name the contour, brows, nose, eyes, lips, mouth).
import re, sys

text = open(sys.argv[1]).read()
m = re.search(r"export const VTX68: number\[\] = \[(.*?)\];", text, re.S)
if not m:
    sys.exit("no 'export const VTX68' array in facemeshcoords.ts")
indices = [int(v) for v in re.findall(r"\d+", re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S))]
if len(indices) != 68 or max(indices) >= 468:
    sys.exit(f"VTX68 has {len(indices)} entries (largest {max(indices, default=-1)}); 68 vertex indices below 468 expected")
with open(sys.argv[2], "w") as f:
    f.write("tsgan-face-mesh-68 1\n" + "".join(f"{i}\n" for i in indices))
PY
    die "cannot read the 468 to 68 point mapping of $human_package (python3's message is above)"
fi

if want face_mesh_canonical.txt; then
  npm_pack_pinned "$mesh_package" "$mesh_tgz" "$mesh_sha1"
  tar -xzf "$work/$mesh_tgz" -C "$work" "$pack_member" 2>"$work/tar.err" ||
    die "cannot extract $pack_member from $mesh_package: $(cat "$work/tar.err")"
  python3 - "$work/$pack_member" "$meta_start" "$meta_end" "$meta_sha256" "$work/face_mesh_canonical.txt" <<'PY' ||
# Decodes MediaPipe's GeometryPipelineMetadata (face_geometry/protos): field 1 is the canonical
# Mesh3d {1: vertex_type (0 = position xyz + texture uv), 2: primitive_type (0 = triangle),
# 3: repeated float vertex_buffer, 4: repeated uint32 index_buffer}; repeated fields may come
# packed or one by one, as protobuf allows.
import hashlib, struct, sys

pack, start, end, want_sha, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(pack, "rb") as f:
    data = f.read()
meta = data[start:end]
if len(meta) != end - start or hashlib.sha256(meta).hexdigest() != want_sha:
    sys.exit(f"bytes {start}..{end} of the pack are not the expected geometry metadata (sha256 {hashlib.sha256(meta).hexdigest()})")

def varint(b, i):
    value = shift = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return value, i

def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        else:
            sys.exit(f"unsupported protobuf wire type {wire}")
        yield number, wire, v

meshes = [v for n, w, v in fields(meta) if n == 1 and w == 2]
if len(meshes) != 1:
    sys.exit(f"{len(meshes)} canonical meshes in the metadata, 1 expected")
vertices, indices, kinds = [], [], {}
for n, w, v in fields(meshes[0]):
    if n in (1, 2) and w == 0:
        kinds[n] = v
    elif n == 3 and w == 5:
        vertices.append(struct.unpack("<f", v)[0])
    elif n == 3 and w == 2:
        vertices.extend(struct.unpack(f"<{len(v) // 4}f", v))
    elif n == 4 and w == 0:
        indices.append(v)
    elif n == 4 and w == 2:
        i = 0
        while i < len(v):
            x, i = varint(v, i)
            indices.append(x)
if kinds.get(1, 0) != 0 or kinds.get(2, 0) != 0:
    sys.exit(f"vertex/primitive type {kinds}: position+uv triangles (0, 0) expected")
if len(vertices) != 468 * 5 or len(indices) != 898 * 3 or max(indices) >= 468:
    sys.exit(f"{len(vertices)} vertex floats and {len(indices)} indices, 2340 and 2694 (< 468) expected")
with open(out, "w") as f:
    f.write("tsgan-face-mesh 1\n468 898\n")
    for k in range(468):
        f.write(" ".join(repr(x) for x in vertices[5 * k:5 * k + 5]) + "\n")
    for t in range(898):
        f.write(" ".join(str(x) for x in indices[3 * t:3 * t + 3]) + "\n")
PY
    die "cannot decode the canonical mesh of $mesh_package (python3's message is above)"
fi

install_checked "$work"
