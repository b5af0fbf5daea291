"""Fuzzing the entry points users feed by hand: configs, IDX files, simulate and the
model constructors end in a result or a one-line error naming what is wrong, never in
another exception (hypothesis, bounded examples)."""

import copy
import math
import pathlib
import re
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrnn
from jaxrnn.training import Config, ConfigError, apply_overrides, config_from_dict
from jaxrnn.tasks import DataError, read_idx

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.yaml"))
RAW = {p.name: yaml.safe_load(p.read_text()) for p in CONFIGS}
NAMES_A_KEY = re.compile(r"(unknown )?config key '[^']+'|--set expects")

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                         max_size=2),
    st.sampled_from(["nan", "inf", "-1", "1e-3", "1e400", "adam", "rplrnn", "float16"]))


def _paths(tree, prefix=()):
    for k, v in tree.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(RAW)))
    raw = copy.deepcopy(RAW[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(raw))
        kind = draw(st.sampled_from(["set", "delete", "add", "nest"]))
        path = draw(st.sampled_from(paths)) if paths else ("name",)
        node = raw
        for k in path[:-1]:
            node = node[k] if isinstance(node.get(k), dict) else node.setdefault(k, {})
        if kind == "set":
            node[path[-1]] = draw(junk)
        elif kind == "delete":
            node.pop(path[-1], None)
        elif kind == "add":
            node[draw(st.text(min_size=1, max_size=6))] = draw(junk)
        else:  # wrong nesting: a value moved into a list or a section flattened
            node[path[-1]] = [node.get(path[-1])]
    return name, raw


@settings(max_examples=150)
@given(mutated())
def test_mutated_configs_load_or_name_the_key(case):
    name, raw = case
    try:
        config = config_from_dict(raw)
    except ConfigError as e:
        message = str(e)
        assert "\n" not in message and NAMES_A_KEY.search(message), message
        return
    assert isinstance(config, Config)
    for v in jax.tree_util.tree_leaves(jax.tree_util.tree_map(
            lambda x: x, __import__("dataclasses").asdict(config))):
        if isinstance(v, float):
            assert math.isfinite(v)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["train.epochs", "task.T", "model", "train",
                                           "model.tau.x", "seed", "train.learning_rate"]),
                          st.text(max_size=6)), max_size=3))
def test_set_overrides_load_or_name_the_key(items):
    overrides = [f"{k}={v}" for k, v in items]
    try:
        config_from_dict(apply_overrides(copy.deepcopy(RAW["quickstart.yaml"]), overrides))
    except ConfigError as e:
        assert "\n" not in str(e) and NAMES_A_KEY.search(str(e)), str(e)


def _idx_bytes(ndim=1, shape=(3,), payload=b"\x01\x02\x03", code=0x08):
    return (bytes([0, 0, code, ndim]) + b"".join(n.to_bytes(4, "big") for n in shape)
            + payload)


@settings(max_examples=120)
@given(st.one_of(st.binary(max_size=64),
                 st.integers(0, 15).map(lambda n: _idx_bytes()[:n]),
                 st.tuples(st.integers(0, 4), st.lists(st.integers(0, 2**32 - 1), max_size=4),
                           st.binary(max_size=24), st.sampled_from([0x08, 0x09, 0x0B, 0x0C,
                                                                    0x0D, 0x0E, 0x07]))
                 .map(lambda a: _idx_bytes(a[0], a[1], a[2], a[3])),
                 st.binary(max_size=40).map(lambda b: b"\x1f\x8b" + b)))
def test_random_and_truncated_idx_bytes_give_one_line_naming_the_file(data):
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "labels-idx1-ubyte"
        path.write_bytes(data)
        try:
            out = read_idx(path)
        except DataError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)
            return
        assert isinstance(out, np.ndarray)


def test_a_valid_tiny_idx_file_reads_back():
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "x"
        path.write_bytes(_idx_bytes(2, (2, 3), bytes(range(6))))
        np.testing.assert_array_equal(read_idx(path), np.arange(6).reshape(2, 3))


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
dtypes = st.sampled_from([jnp.float32, jnp.float64, jnp.int32, jnp.bool_, jnp.complex64])


@settings(max_examples=60)
@given(shapes, shapes, dtypes, st.sampled_from(["ctrnn", "plrnn", "lstm"]),
       st.one_of(st.none(), st.integers(-2, 5)))
def test_simulate_with_random_shapes_and_dtypes_names_the_argument(y_shape, x_shape, dtype,
                                                                    kind, n_steps):
    key = jax.random.PRNGKey(0)
    system = {"ctrnn": lambda: jaxrnn.CTRNN(3, input_size=2, key=key),
              "plrnn": lambda: jaxrnn.PLRNN(3, 2, key=key),
              "lstm": lambda: jaxrnn.models.LSTM(2, 2, 1, key=key)}[kind]()
    y0 = jnp.zeros(y_shape, dtype)
    x = jnp.zeros(x_shape, dtype)
    kwargs = {"inputs": x}
    if kind == "ctrnn":
        kwargs.update(dt=0.1, n_steps=n_steps if n_steps is not None else 3)
    elif n_steps is not None:
        kwargs["n_steps"] = n_steps
    try:
        out = jaxrnn.simulate(system, y0, **kwargs)
    except (ValueError, TypeError) as e:
        message = str(e)
        assert "\n" not in message.strip(), message
        assert re.search(r"y0|inputs|n_steps|dt|dtype|complex", message), message
        return
    assert out.ys.shape[-1] == system.state_size


@settings(max_examples=60)
@given(st.sampled_from(["PLRNN", "CTRNN", "ReLURNN", "LSTM"]),
       st.lists(st.one_of(st.integers(-3, 6), st.floats(-2, 6), st.none(), st.text(max_size=2)),
                min_size=1, max_size=3))
def test_model_constructors_refuse_bad_sizes_naming_the_argument(name, args):
    cls = {"PLRNN": jaxrnn.PLRNN, "CTRNN": jaxrnn.CTRNN, "ReLURNN": jaxrnn.models.ReLURNN,
           "LSTM": jaxrnn.models.LSTM}[name]
    need = {"PLRNN": 1, "CTRNN": 1, "ReLURNN": 3, "LSTM": 3}[name]
    args = (args + [1, 1, 1])[:max(len(args), need)]
    try:
        model = cls(*args, key=jax.random.PRNGKey(0))
    except (ValueError, TypeError) as e:
        assert re.search(r"size|must be|expected|argument", str(e)), f"{name}{args}: {e}"
        return
    assert all(int(a) == a and a >= 0 for a in args[:need])
    assert model.state_size >= 1
