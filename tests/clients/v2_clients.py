"""Drives a running Edgewood Iris service with the Open Inference Protocol clients
nobody here wrote: Triton's `tritonclient.http` and KServe's `InferenceRESTClient`,
each with its defaults (binary tensors) and in JSON, FP32 and FP64. Every answer must
equal `/predict/batch` on the same rows, bit for bit.

Run by host/tests/http with tests/.venv's Python: `python v2_clients.py HOST:PORT
[API_KEY]`. Exits non-zero with the first disagreement.
"""

import asyncio
import json
import sys
import urllib.request

import numpy as np

ADDR = sys.argv[1]
API_KEY = sys.argv[2] if len(sys.argv) > 2 else None
HEADERS = {"X-API-Key": API_KEY} if API_KEY else {}


def headers():
    """A fresh copy each call: tritonclient adds its framing header to the dict it is
    given, which would leak into the next request."""
    return dict(HEADERS)
MODEL = "iris"


def rows():
    """60 reproducible rows over the valid range 0..10, and the reference's own."""
    state, out = 12345, [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [0.0, 10.0, 0.0, 10.0]]
    for _ in range(57):
        row = []
        for _ in range(4):
            state = (state * 1103515245 + 12345) % 2**31
            row.append(round(state / 2**31 * 10, 3))
        out.append(row)
    return np.array(out, dtype=np.float64)


def reference(x):
    """`/predict/batch` on rows `x` (float64, written exactly): labels and probabilities."""
    body = json.dumps({"instances": x.tolist()}).encode()
    req = urllib.request.Request(
        f"http://{ADDR}/predict/batch",
        data=body,
        headers={"Content-Type": "application/json", **headers()},
    )
    with urllib.request.urlopen(req) as resp:
        predictions = json.loads(resp.read())["predictions"]
    classes = list(predictions[0]["probabilities"])
    labels = [p["prediction"] for p in predictions]
    probs = np.array([[p["probabilities"][c] for c in classes] for p in predictions])
    return labels, probs


def same(what, labels, probs, want):
    want_labels, want_probs = want
    labels = [l.decode() if isinstance(l, bytes) else l for l in np.ravel(labels).tolist()]
    if labels != want_labels:
        sys.exit(f"{what}: labels {labels[:5]}… differ from /predict/batch {want_labels[:5]}…")
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != want_probs.shape or not np.array_equal(
        probs.view(np.uint64), want_probs.view(np.uint64)
    ):
        sys.exit(f"{what}: probabilities differ from /predict/batch bit for bit")
    print(f"ok: {what}")


def triton(x64):
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(ADDR)
    assert client.is_server_live(headers=headers()), "server live"
    assert client.is_server_ready(headers=headers()), "server ready"
    assert client.is_model_ready(MODEL, headers=headers()), "model ready"
    meta = client.get_server_metadata(headers=headers())
    assert "binary_tensor_data" in meta["extensions"], meta
    model = client.get_model_metadata(MODEL, headers=headers())
    assert [i["shape"] for i in model["inputs"]] == [[-1, 4]], model
    print("ok: triton metadata and readiness")

    for dtype, name in [(np.float32, "FP32"), (np.float64, "FP64")]:
        x = x64.astype(dtype)
        want = reference(x.astype(np.float64))
        for binary_in in (True, False):
            tensor = httpclient.InferInput("input-0", list(x.shape), name)
            tensor.set_data_from_numpy(x, binary_data=binary_in)
            # The defaults: no outputs named, so all come back in binary.
            result = client.infer(MODEL, [tensor], headers=headers())
            for output in ("label", "probabilities"):
                params = result.get_output(output).get("parameters", {})
                assert "binary_data_size" in params, f"{output} not sent in binary"
            same(
                f"triton {name} binary_in={binary_in} default outputs",
                result.as_numpy("label"),
                result.as_numpy("probabilities"),
                want,
            )
            for binary_out in (True, False):
                outputs = [
                    httpclient.InferRequestedOutput("label", binary_data=binary_out),
                    httpclient.InferRequestedOutput("probabilities", binary_data=binary_out),
                ]
                result = client.infer(MODEL, [tensor], outputs=outputs, headers=headers())
                same(
                    f"triton {name} binary_in={binary_in} binary_out={binary_out}",
                    result.as_numpy("label"),
                    result.as_numpy("probabilities"),
                    want,
                )
    client.close()


async def kserve(x64):
    from kserve import InferenceRESTClient, RESTConfig
    from kserve.protocol.infer_type import InferInput, InferRequest

    client = InferenceRESTClient(RESTConfig(protocol="v2"))
    base = f"http://{ADDR}"
    assert await client.is_server_live(base, headers=headers()), "server live"
    assert await client.is_server_ready(base, headers=headers()), "server ready"
    assert await client.is_model_ready(base, MODEL, headers=headers()), "model ready"
    print("ok: kserve readiness")
    for dtype, name in [(np.float32, "FP32"), (np.float64, "FP64")]:
        x = x64.astype(dtype)
        want = reference(x.astype(np.float64))
        for binary_in in (True, False):
            for binary_out in (True, False):
                tensor = InferInput("input-0", list(x.shape), name)
                tensor.set_data_from_numpy(x, binary_data=binary_in)
                request = InferRequest(
                    model_name=MODEL,
                    infer_inputs=[tensor],
                    request_id="kserve-1",
                    parameters={"binary_data_output": binary_out},
                )
                response = await client.infer(
                    base, request, model_name=MODEL, headers=headers()
                )
                assert response.id == "kserve-1", response.id
                outputs = {o.name: o.as_numpy() for o in response.outputs}
                same(
                    f"kserve {name} binary_in={binary_in} binary_out={binary_out}",
                    outputs["label"],
                    outputs["probabilities"],
                    want,
                )
    await client.close()


if __name__ == "__main__":
    x = rows()
    triton(x)
    asyncio.run(kserve(x))
