"""`FastGenerator` on a model trained in place, as the round loop does (ModelState keeps one model object,
samples, trains it with TRL's SFTTrainer, then evaluates): fast greedy must equal hf greedy afterwards,
for a generator built after training and for one built before it and used again."""

import pytest
import torch

from selftaught.core.config import TrainConfig
from selftaught.core.records import SamplingParams
from selftaught.models.fast import FastGenerator
from selftaught.models.hf import HFGenerator
from selftaught.train import train_sft

PROMPTS = [[{"role": "system", "content": "Add."}, {"role": "user", "content": f"{i} + {i + 1}"}] for i in range(6)]
GREEDY = SamplingParams(temperature=0.0, max_new_tokens=12)


def _texts(gen, prompts=PROMPTS):
    return [row[0].text for row in gen.generate(prompts, GREEDY)]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_fast_greedy_equals_hf_after_training_in_place(tiny_model_and_tokenizer, device):
    model, tok = tiny_model_and_tokenizer
    model.to(device)
    early = FastGenerator(model, tok, max_batch=4)  # built (and used) before training, used again after
    before = _texts(early)
    assert before == _texts(HFGenerator(model, tok, batch_size=4))
    records = [{"prompt": p, "completion": [{"role": "assistant", "content": f"= {2 * i + 1}"}]}
               for i, p in enumerate(PROMPTS)] * 2
    trained, result = train_sft(model, tok, records, TrainConfig(epochs=2, batch_size=4, learning_rate=3e-3),
                                device, 0)  # on a GPU: bf16 autocast, as the loop trains
    assert trained is model and result.steps == 6
    assert "_original_forward" not in vars(model)  # no bf16-autocast wrapper left by accelerate on a GPU
    hf = HFGenerator(model, tok, batch_size=4).generate(PROMPTS, GREEDY)
    assert [r[0].text for r in hf] != before  # training changed the answers: the checks below mean something
    for gen in (FastGenerator(model, tok, max_batch=4), early, FastGenerator(model, tok, max_batch=4,
                                                                            share_prefix=False)):
        fast = gen.generate(PROMPTS, GREEDY)
        assert [r[0].text for r in fast] == [r[0].text for r in hf]
        assert [r[0].logprob for r in fast] == pytest.approx([r[0].logprob for r in hf], abs=1e-3)


def test_weights_follow_in_place_updates_and_replaced_parameters(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    gen = FastGenerator(model, tok, max_batch=4)
    _texts(gen)
    weights = gen.weights
    with torch.no_grad():
        model.model.layers[0].self_attn.k_proj.weight.mul_(1.5)  # in place: only the fused copies would miss it
    assert _texts(gen) == _texts(HFGenerator(model, tok, batch_size=4))
    assert gen.weights is weights  # refreshed in place (captured CUDA graphs stay valid)
    mlp = model.model.layers[1].mlp
    mlp.down_proj.weight = torch.nn.Parameter(mlp.down_proj.weight.detach() * 2)  # new storage: rebuilt
    assert _texts(gen) == _texts(HFGenerator(model, tok, batch_size=4))
    assert gen.weights is not weights
