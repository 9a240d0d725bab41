"""fastnn.ops.matmul against a float64 NumPy reference: every transpose combination, both dtypes,
sizes around each block size of the GEMM in use, strided/transposed/broadcast views, and
bitwise reproducibility across thread counts."""

import itertools

import numpy as np
import pytest

import fastnn
from conftest import blocking, machine_eps, num_threads

DTYPES = [np.float32, np.float64]
TRANSPOSES = [(False, False), (True, False), (False, True), (True, True)]


def operands(rng, m, n, k, dtype, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def assert_matches_reference(c, a, b, trans_a=False, trans_b=False):
    """|C - A·B| <= (k + 2)·eps·(|A|·|B|): the classical worst-case bound for a k-term dot product."""
    a64 = a.astype(np.float64).T if trans_a else a.astype(np.float64)
    b64 = b.astype(np.float64).T if trans_b else b.astype(np.float64)
    reference = a64 @ b64
    k = a64.shape[1]
    bound = (k + 2) * machine_eps(c.dtype) * (np.abs(a64) @ np.abs(b64)) + np.finfo(c.dtype).tiny
    assert c.shape == reference.shape
    error = np.abs(c.astype(np.float64) - reference)
    assert np.all(error <= bound), f"error exceeds the bound by up to {np.max(error / bound):.3g}x"


def boundary_sizes(block, small=(0, 1, 2, 7, 13)):
    sizes = set(small)
    for size in block:
        sizes.update({size - 1, size, size + 1})
    return sorted(s for s in sizes if s >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a, trans_b", TRANSPOSES)
def test_m_across_row_blocks(rng, dtype, trans_a, trans_b):
    bs = blocking(dtype)
    # Up to 1.5 MC rows a thread make one row block (gemm.cpp); more, blocks of MC.
    for m in boundary_sizes([bs["mr"], 2 * bs["mr"], bs["mc"], bs["mc"] + bs["mc"] // 2, 2 * bs["mc"]]):
        a, b = operands(rng, m, 19, 23, dtype, trans_a, trans_b)
        assert_matches_reference(fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a, trans_b", TRANSPOSES)
def test_n_across_column_blocks(rng, dtype, trans_a, trans_b):
    bs = blocking(dtype)
    for n in boundary_sizes([bs["nr"], 2 * bs["nr"], bs["nc"]]):
        a, b = operands(rng, 11, n, 5, dtype, trans_a, trans_b)
        assert_matches_reference(fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a, trans_b", TRANSPOSES)
def test_k_across_depth_blocks(rng, dtype, trans_a, trans_b):
    bs = blocking(dtype)
    # Also around the AVX2 float32 micro-kernel's 4-step loop and the 16 steps from which it runs
    # that loop in assembly.
    for k in boundary_sizes([4, 16, bs["kc"], 2 * bs["kc"]]):
        a, b = operands(rng, 17, 21, k, dtype, trans_a, trans_b)
        assert_matches_reference(fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n, k", [(1009, 1013, 1019), (1, 1031, 997), (1021, 1, 1033), (257, 263, 1), (2, 3, 4099)])
def test_large_and_prime_shapes(rng, dtype, m, n, k):
    for trans_a, trans_b in TRANSPOSES:
        a, b = operands(rng, m, n, k, dtype, trans_a, trans_b)
        assert_matches_reference(fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b), a, b, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_reduction_gives_zeros(dtype):
    out = fastnn.ops.matmul(np.ones((3, 0), dtype), np.ones((0, 4), dtype))
    assert out.shape == (3, 4) and out.dtype == dtype and not out.any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape_a, shape_b", [((0, 5), (5, 3)), ((4, 5), (5, 0)), ((0, 0), (0, 0))])
def test_empty_outputs(dtype, shape_a, shape_b):
    out = fastnn.ops.matmul(np.ones(shape_a, dtype), np.ones(shape_b, dtype))
    assert out.shape == (shape_a[0], shape_b[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_negative_fortran_and_broadcast_views(rng, dtype):
    base = rng.standard_normal((90, 80)).astype(dtype)
    views = {
        "strided": base[::3, ::2],           # (30, 40)
        "negative": base[::-3, ::-2],        # (30, 40)
        "fortran": np.asfortranarray(base[:30, :40]),
        "broadcast": np.broadcast_to(base[0, :40], (30, 40)),  # row stride 0
    }
    b = rng.standard_normal((40, 25)).astype(dtype)
    for name, a in views.items():
        assert_matches_reference(fastnn.ops.matmul(a, b), a, b)
        assert_matches_reference(fastnn.ops.matmul(b, a, trans_a=True, trans_b=True), b, a, True, True)


def takes_narrow_path(n, k, dtype):
    """Whether an n-wide product of depth k whose A rows are contiguous goes to the dot-product
    kernel (cpu_info's rule; the k of these tests stays far below its 2**20-value packing cap)."""
    bs = blocking(dtype)
    return n <= bs["narrow_columns"] and n % bs["nr"] != 0 and (n <= bs["narrow_group_columns"] or
                                                                  k >= bs["narrow_min_depth"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n, k", [(5, 700, 300), (300, 5, 700), (3, 3, 900), (37, 41, 513), (13, 7, 15),
                                     (13, 7, 16), (13, 7, 17)])
def test_operands_read_in_place_equal_packed_ones_bitwise(rng, dtype, m, n, k):
    """Panels a thread uses only a few times are read in place (A with any strides, B when
    row-major), the others packed: the arithmetic is the same, so every memory order of the
    operands gives identical bits (a Fortran-ordered B is always packed). k = 15-17 straddles the
    AVX2 float32 kernel's switch to its assembly loops. A narrow output whose A rows are
    contiguous goes to the dot-product kernel, which sums in another order: there the order of
    B alone must not matter."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    reference = fastnn.ops.matmul(np.asfortranarray(a), np.asfortranarray(b))
    np.testing.assert_array_equal(fastnn.ops.matmul(np.asfortranarray(a), b), reference)
    rows_contiguous = fastnn.ops.matmul(a, b)
    np.testing.assert_array_equal(fastnn.ops.matmul(a, np.asfortranarray(b)), rows_contiguous)
    if not takes_narrow_path(n, k, dtype):
        np.testing.assert_array_equal(rows_contiguous, reference)
    assert_matches_reference(reference, a, b)
    assert_matches_reference(rows_contiguous, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a, trans_b", TRANSPOSES)
def test_b_packed_group_by_group_across_groups(rng, dtype, trans_a, trans_b):
    """A thread whose rows fit in one MC block packs B nb columns at a time, right before their
    micro-kernels: widths around every group boundary, a depth past KC, and, bit for bit, the
    same rows as a product tall enough that every thread packs its whole kc x nc block first."""
    bs = blocking(dtype)
    m, k = 8 * bs["mr"] + 1, bs["kc"] + 1  # B packed (at least 4 row tiles a thread), one MC block
    assert m <= bs["mc"] and bs["nr"] <= bs["nb"] <= bs["nc"] and bs["nb"] % bs["nr"] == 0, bs
    tall = 4 * bs["mc"] + m  # more than MC rows a thread, however a grid of up to 4 rows splits it
    for n in boundary_sizes([bs["nb"], 2 * bs["nb"]], small=(1, bs["nr"] + 3, 3 * bs["nb"] + 5)):
        a_tall, b = operands(rng, tall, n, k, dtype, trans_a, trans_b)
        a = a_tall[:, :m] if trans_a else a_tall[:m]
        c = fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
        assert_matches_reference(c, a, b, trans_a, trans_b)
        np.testing.assert_array_equal(c, fastnn.ops.matmul(a_tall, b, trans_a=trans_a, trans_b=trans_b)[:m])


def tile_use(m, n, mr, nr):
    return m / (-(-m // mr) * mr) * n / (-(-n // nr) * nr)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a, trans_b", TRANSPOSES)
def test_narrow_outputs_computed_transposed_equal_wide_ones_bitwise(rng, dtype, trans_a, trans_b):
    """A narrow C (n = 10 against NR = 16 or 32) is computed as C^T = B^T A^T, long side along
    the vector lanes. Each element is still one chain of FMAs over k in the same order, so it
    equals, bit for bit, the same columns of a wide product (computed the usual way)."""
    bs = blocking(dtype)
    mr, nr = bs["mr"], bs["nr"]
    if mr == nr:
        pytest.skip(f"the {mr}x{nr} tile is square: transposing a product never fills more of it")
    narrow_shapes = [(m, n) for m in (128, 2 * nr, 4 * nr + 1, 8 * nr + 3) for n in (1, 2, 3, 10, nr // 2 + 1)
                     if tile_use(n, m, mr, nr) > 1.25 * tile_use(m, n, mr, nr)]  # those that take the transposed path
    assert len(narrow_shapes) >= 4, narrow_shapes
    for (m, n), k in itertools.product(narrow_shapes, (1, bs["kc"] + 1)):
        wide = 4 * nr
        assert not tile_use(wide, m, mr, nr) > 1.25 * tile_use(m, wide, mr, nr)  # the usual path
        a, b_wide = operands(rng, m, wide, k, dtype, trans_a, trans_b)
        if not trans_a and takes_narrow_path(n, k, dtype):
            strided = np.zeros((m, 2 * k), dtype)
            strided[:, ::2] = a
            a = strided[:, ::2]  # rows not contiguous: the tiles, not the dot-product kernel
        b = b_wide[:n] if trans_b else b_wide[:, :n]
        narrow = fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
        np.testing.assert_array_equal(narrow, fastnn.ops.matmul(a, b_wide, trans_a=trans_a, trans_b=trans_b)[:, :n])
        assert_matches_reference(narrow, a, b, trans_a, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_b", [False, True])
def test_narrow_outputs_match_the_reference(rng, dtype, trans_b):
    """Outputs 1-13 columns wide with A's rows contiguous (the dot-product kernel where it is
    measured faster, else the tiles): k around both vector widths (4 and 8 lanes; the rest of k
    is a masked load) and the depth from which wide outputs take the kernel, m around the
    kernel's row tiles (3, 4 and 6) and its 48-row calls."""
    depth = blocking(dtype)["narrow_min_depth"] or 64
    ks = (1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, depth - 1, depth, depth + 1, depth + 2, 300)
    for m, k, n in itertools.product((1, 2, 3, 4, 5, 7, 47, 48, 49, 52, 97), ks, range(1, 14)):
        a, b = operands(rng, m, n, k, dtype, False, trans_b)
        assert_matches_reference(fastnn.ops.matmul(a, b, trans_b=trans_b), a, b, False, trans_b)
    for n in (3, 12):  # around the most of op(B)ᵀ the path packs (2**20 values; deeper: the tiles)
        for k in (2**20 // n, 2**20 // n + 1):
            a, b = operands(rng, 5, n, k, dtype, False, trans_b)
            assert_matches_reference(fastnn.ops.matmul(a, b, trans_b=trans_b), a, b, False, trans_b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [3, 10])
def test_narrow_outputs_read_rows_of_any_stride(rng, dtype, n):
    k = 70  # deep enough for the dot-product kernel at both widths
    base = rng.standard_normal((200, 150)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    for a in (base[::2, 5:5 + k], base[::-3, 50:50 + k], np.broadcast_to(base[0, :k], (40, k))):
        assert a.strides[1] == a.itemsize  # rows contiguous, so read in place
        assert takes_narrow_path(n, k, dtype) or not blocking(dtype)["narrow_columns"]
        assert_matches_reference(fastnn.ops.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [64, 301])
def test_a_narrow_output_element_does_not_depend_on_the_product_around_it(rng, dtype, k):
    """C[i, j] is a fixed function of row i of A, column j of B and k: the rows of a narrow
    product equal those of a taller one and its columns those of a wider one (up to the widest
    the same path takes), bit for bit."""
    width = blocking(dtype)["narrow_columns"] or 12  # (the tiles' columns obey the same rule)
    if blocking(dtype)["narrow_columns"]:
        assert all(takes_narrow_path(n, k, dtype) for n in (1, 2, 3, 4, width - 1, width))
    a = rng.standard_normal((500, k)).astype(dtype)
    b = rng.standard_normal((k, width)).astype(dtype)
    full = fastnn.ops.matmul(a, b)
    np.testing.assert_array_equal(fastnn.ops.matmul(a[123:170], b), full[123:170])
    for columns in (slice(0, 1), slice(3, 5), slice(2, 5), slice(4, 8), slice(1, width)):
        np.testing.assert_array_equal(fastnn.ops.matmul(a, np.ascontiguousarray(b[:, columns])), full[:, columns])


def test_misaligned_strides_are_handled():
    raw = np.zeros(4 * 12 * 10 + 1, np.uint8)[1:]
    a = raw.view(np.float32).reshape(12, 10)  # unaligned data pointer
    a[...] = np.arange(120, dtype=np.float32).reshape(12, 10)
    b = np.eye(10, dtype=np.float32)
    np.testing.assert_array_equal(fastnn.ops.matmul(a, b), a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_written_in_place_and_returned(rng, dtype):
    a, b = operands(rng, 40, 30, 20, dtype, False, False)
    out = np.full((40, 30), np.nan, dtype)
    result = fastnn.ops.matmul(a, b, out=out)
    assert result is out
    assert_matches_reference(out, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, n, k", [(600, 500, 700), (128, 10, 512), (1000, 10, 700), (8000, 3, 300), (3, 2000, 300),
                                     (2000, 3, 300)])
def test_bitwise_identical_for_any_thread_count(rng, dtype, m, n, k):
    for trans_a, trans_b in TRANSPOSES:
        a, b = operands(rng, m, n, k, dtype, trans_a, trans_b)
        results = []
        for threads in (1, 2, 3, 4):
            with num_threads(threads):
                results.append(fastnn.ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b))
        for other in results[1:]:
            np.testing.assert_array_equal(results[0], other)


def test_strides_past_32_bit_indexing():
    """A row stride of 2**31 elements: index arithmetic must be 64-bit (pages are untouched zeros)."""
    stride = 2**31
    base = np.zeros(stride + 8, np.float32)  # 8 GiB of virtual memory, two pages touched
    base[:4] = [1, 2, 3, 4]
    base[stride : stride + 4] = [5, 6, 7, 8]
    a = np.lib.stride_tricks.as_strided(base, shape=(2, 4), strides=(stride * 4, 4))
    b = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(fastnn.ops.matmul(a, b), np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32) @ b)
    np.testing.assert_array_equal(fastnn.ops.matmul(b, a, trans_a=True, trans_b=True), b.T @ a.T.copy())


def test_python_sequences_are_accepted():
    np.testing.assert_array_equal(fastnn.ops.matmul([[1.0, 2.0]], [[3.0], [4.0]]), [[11.0]])


class TestBadInput:
    def test_inner_dimensions_must_agree(self):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
            fastnn.ops.matmul(np.ones((2, 3)), np.ones((4, 5)))

    @pytest.mark.parametrize("shape", [(2, 3, 4), (3,), ()])
    def test_operands_must_be_2d(self, shape):
        with pytest.raises(ValueError, match="`a` must be a 2-D array"):
            fastnn.ops.matmul(np.ones(shape), np.ones((3, 3)))

    @pytest.mark.parametrize("dtype", [np.int32, np.int64, np.complex64, np.bool_, object, np.float16])
    def test_non_float_dtypes_raise_type_error(self, dtype):
        with pytest.raises(TypeError, match="`a`"):
            fastnn.ops.matmul(np.ones((2, 2), dtype), np.ones((2, 2)))

    def test_mixed_precision_raises_type_error(self):
        with pytest.raises(TypeError, match="a is float32, b is float64"):
            fastnn.ops.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float64))

    def test_non_bool_transpose_flag(self):
        with pytest.raises(TypeError, match="trans_a"):
            fastnn.ops.matmul(np.ones((2, 2)), np.ones((2, 2)), trans_a=1)

    @pytest.mark.parametrize(
        "out, message",
        [
            (np.empty((3, 3)), "shape"),
            (np.empty((2, 2), np.float32), "dtype"),
            (np.empty((2, 4))[:, ::2], "C-contiguous"),
            (np.asfortranarray(np.empty((2, 2))), "C-contiguous"),
        ],
    )
    def test_bad_out(self, out, message):
        with pytest.raises(ValueError, match=message):
            fastnn.ops.matmul(np.ones((2, 2)), np.ones((2, 2)), out=out)

    def test_read_only_out(self):
        out = np.empty((2, 2))
        out.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            fastnn.ops.matmul(np.ones((2, 2)), np.ones((2, 2)), out=out)

    def test_out_overlapping_an_operand(self):
        a = np.ones((3, 3))
        with pytest.raises(ValueError, match="overlaps"):
            fastnn.ops.matmul(a, np.ones((3, 3)), out=a)

    def test_out_that_is_not_an_array(self):
        with pytest.raises(TypeError, match="`out`"):
            fastnn.ops.matmul(np.ones((2, 2)), np.ones((2, 2)), out=[[0, 0], [0, 0]])


class TestCallsStraightToTheKernel:
    """Matrices of one native float dtype skip the Python checks and go straight to the kernel
    (ops.matmul): whatever its binding refuses must still get the checks' own error, naming the
    argument, and the layouts that the checks copy must still give the product."""

    def test_misaligned_out(self):  # the binding does not check alignment
        out = np.zeros(8 * 4 + 1, np.uint8)[1:].view(np.float64).reshape(2, 2)
        with pytest.raises(ValueError, match="`out` must be C-contiguous and aligned"):
            fastnn.ops.matmul(np.ones((2, 2)), np.ones((2, 2)), out=out)

    def test_inner_dimensions_with_out(self):
        with pytest.raises(ValueError, match=r"op\(a\) has shape \(2, 3\) and op\(b\) has shape \(4, 5\)"):
            fastnn.ops.matmul(np.ones((2, 3)), np.ones((4, 5)), out=np.empty((2, 5)))

    @pytest.mark.parametrize("out", [None, np.empty((2, 2))])
    def test_operand_of_the_wrong_rank(self, out):
        with pytest.raises(ValueError, match="Argument `b` must be a 2-D array"):
            fastnn.ops.matmul(np.ones((2, 3)), np.ones((3, 2, 1)), out=out)

    @pytest.mark.parametrize("with_out", [False, True])
    def test_strides_that_are_not_whole_items(self, rng, with_out):
        buffer = rng.integers(0x30, 0x40, 64, dtype=np.uint8)  # any 4 of these bytes: a float32 in (0, 1)
        a = np.lib.stride_tricks.as_strided(buffer.view(np.float32), shape=(3, 4), strides=(17, 4))  # rows 17 B apart
        b = rng.standard_normal((4, 5)).astype(np.float32)
        out = np.empty((3, 5), np.float32) if with_out else None
        assert_matches_reference(fastnn.ops.matmul(a, b, out=out), np.array(a), b)

    @pytest.mark.parametrize("with_out", [False, True])
    def test_non_native_byte_order(self, rng, with_out):
        a = rng.standard_normal((3, 4)).astype(">f8")
        b = rng.standard_normal((4, 5))
        out = np.empty((3, 5)) if with_out else None
        assert_matches_reference(fastnn.ops.matmul(a, b, out=out), a.astype(np.float64), b)
