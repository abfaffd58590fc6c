/*
 * Rows as two independent 64-bit hashes of all their values, built column by column (`mix_codes`, `mix_bits`,
 * `hash_texts`), and a set of rows seen so far, for finding exact repeats in file order: the set keeps 95 bits of
 * the hashes (the high half of the first, the second but for its lowest bit) in an open-addressing table that
 * Python allocates and grows.
 *
 * Why C: a row's first sighting has to be decided in file order, and numpy has no hash table. Sorting each batch
 * and searching earlier batches' sorted runs cost about 0.35 us a row; one probe of this table, with the slots of
 * rows a little ahead prefetched, costs a small fraction of that. Folding a column into the hashes is one pass
 * here, where numpy took about ten (gather, mix, mask, xor, multiply, for each hash). The GIL is released during
 * the loops.
 *
 * A slot is 12 bytes: the second hash with its lowest bit set (so never 0: 0 marks an empty slot), then the high
 * half of the first. Linear probing from the second hash's next lowest bits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define SLOT 12
#define AHEAD 16

static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Insert (high, second) unless present; 1 if it was present. `mask` is the slot count less one (a power of 2). */
static inline int insert(uint8_t *slots, uint64_t mask, uint64_t second, uint32_t high)
{
    uint64_t at = (second >> 1) & mask;
    for (;;) {
        uint8_t *slot = slots + at * SLOT;
        uint64_t held = load64(slot);
        if (held == 0) {
            memcpy(slot, &second, 8);
            memcpy(slot + 8, &high, 4);
            return 0;
        }
        if (held == second && load32(slot + 8) == high) {
            return 1;
        }
        at = (at + 1) & mask;
    }
}

static int slot_count(Py_buffer *slots, uint64_t *mask)
{
    Py_ssize_t n = slots->len / SLOT;
    if (slots->len % SLOT != 0 || n < 1 || (n & (n - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "slots must be a power of two of 12-byte slots");
        return -1;
    }
    *mask = (uint64_t)n - 1;
    return 0;
}

PyDoc_STRVAR(add_doc,
"add(slots, first, second, repeat) -> int\n--\n\n"
"For each row i in order (uint64 hashes first[i], second[i]): repeat[i] = 1 if the table `slots`\n"
"already holds it (from an earlier call or an earlier row), else 0 and the row is added. Returns the\n"
"number added. The caller keeps the table under three quarters full (see `rehash`).");

static PyObject *add(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer slots, first, second, repeat;
    if (!PyArg_ParseTuple(args, "w*y*y*w*", &slots, &first, &second, &repeat)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint64_t mask;
    Py_ssize_t n = first.len / 8;
    if (slot_count(&slots, &mask) < 0) {
        goto done;
    }
    if (first.len % 8 != 0 || second.len != first.len || repeat.len != n) {
        PyErr_SetString(PyExc_ValueError, "first, second (uint64) and repeat (one byte each) must match");
        goto done;
    }
    Py_ssize_t added = 0;
    Py_BEGIN_ALLOW_THREADS
    uint8_t *table = slots.buf, *out = repeat.buf;
    const uint64_t *a = first.buf, *b = second.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n) {
            __builtin_prefetch(table + ((b[i + AHEAD] >> 1) & mask) * SLOT, 1);
        }
        out[i] = (uint8_t)insert(table, mask, b[i] | 1, (uint32_t)(a[i] >> 32));
        added += !out[i];
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(added);
done:
    PyBuffer_Release(&slots);
    PyBuffer_Release(&first);
    PyBuffer_Release(&second);
    PyBuffer_Release(&repeat);
    return result;
}

PyDoc_STRVAR(rehash_doc,
"rehash(old, new)\n--\n\n"
"Move every row of the table `old` into the empty (zeroed) larger table `new`.");

static PyObject *rehash(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer old, new;
    if (!PyArg_ParseTuple(args, "y*w*", &old, &new)) {
        return NULL;
    }
    PyObject *result = NULL;
    uint64_t old_mask, new_mask;
    if (slot_count(&old, &old_mask) < 0 || slot_count(&new, &new_mask) < 0) {
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *from = old.buf;
    uint8_t *to = new.buf;
    for (uint64_t i = 0; i <= old_mask; i++) {
        if (i + AHEAD <= old_mask) {
            __builtin_prefetch(to + ((load64(from + (i + AHEAD) * SLOT) >> 1) & new_mask) * SLOT, 1);
        }
        uint64_t second = load64(from + i * SLOT);
        if (second != 0) {
            insert(to, new_mask, second, load32(from + i * SLOT + 8));
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&old);
    PyBuffer_Release(&new);
    return result;
}

/* splitmix64's finaliser: every input bit affects every output bit. */
static inline uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static int same_rows(Py_buffer *one, Py_buffer *two, Py_ssize_t *n)
{
    if (one->len % 8 != 0 || two->len != one->len) {
        PyErr_SetString(PyExc_ValueError, "the two hashes must be uint64 arrays of one length");
        return -1;
    }
    *n = one->len / 8;
    return 0;
}

PyDoc_STRVAR(mix_codes_doc,
"mix_codes(first, second, table_one, table_two, codes, multiplier)\n--\n\n"
"Fold a column given as codes (int32) into a table of each value's two hashes (uint64): for each row,\n"
"first = (first ^ table_one[code]) * multiplier, and second alike with table_two.");

static PyObject *mix_codes(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer first, second, one, two, codes;
    unsigned long long multiplier;
    if (!PyArg_ParseTuple(args, "w*w*y*y*y*K", &first, &second, &one, &two, &codes, &multiplier)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n, m = one.len / 8;
    if (same_rows(&first, &second, &n) < 0) {
        goto done;
    }
    if (one.len % 8 != 0 || two.len != one.len || codes.len != n * 4) {
        PyErr_SetString(PyExc_ValueError, "tables must be uint64 of one length, codes int32 one per row");
        goto done;
    }
    int out_of_range = 0;
    Py_BEGIN_ALLOW_THREADS
    uint64_t *a = first.buf, *b = second.buf;
    const uint64_t *ta = one.buf, *tb = two.buf;
    const int32_t *code = codes.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t c = code[i];
        if (c < 0 || c >= m) {
            out_of_range = 1;
            break;
        }
        a[i] = (a[i] ^ ta[c]) * multiplier;
        b[i] = (b[i] ^ tb[c]) * multiplier;
    }
    Py_END_ALLOW_THREADS
    if (out_of_range) {
        PyErr_SetString(PyExc_ValueError, "a code is outside the tables");
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&first);
    PyBuffer_Release(&second);
    PyBuffer_Release(&one);
    PyBuffer_Release(&two);
    PyBuffer_Release(&codes);
    return result;
}

PyDoc_STRVAR(mix_bits_doc,
"mix_bits(first, second, bits, nulls, seed_one, seed_two, null, multiplier)\n--\n\n"
"Fold a column given as the 64 bits of each value (uint64) into the hashes: for each row, h = mix(bits ^ seed)\n"
"(splitmix64's finaliser), or `null` where nulls[row] is non-zero (`nulls`: one byte a row, or empty for none);\n"
"first = (first ^ h) * multiplier with seed_one, and second alike with seed_two.");

static PyObject *mix_bits(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer first, second, bits, nulls;
    unsigned long long seed_one, seed_two, null, multiplier;
    if (!PyArg_ParseTuple(args, "w*w*y*y*KKKK", &first, &second, &bits, &nulls, &seed_one, &seed_two, &null,
                          &multiplier)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n;
    if (same_rows(&first, &second, &n) < 0) {
        goto done;
    }
    if (bits.len != n * 8 || (nulls.len != 0 && nulls.len != n)) {
        PyErr_SetString(PyExc_ValueError, "bits must be uint64 and nulls one byte, one per row");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    uint64_t *a = first.buf, *b = second.buf;
    const uint64_t *value = bits.buf;
    const uint8_t *missing = nulls.len ? nulls.buf : NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        int is_null = missing != NULL && missing[i];
        uint64_t ha = is_null ? null : mix(value[i] ^ seed_one);
        uint64_t hb = is_null ? null : mix(value[i] ^ seed_two);
        a[i] = (a[i] ^ ha) * multiplier;
        b[i] = (b[i] ^ hb) * multiplier;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&first);
    PyBuffer_Release(&second);
    PyBuffer_Release(&bits);
    PyBuffer_Release(&nulls);
    return result;
}

/* A hash of n bytes: their length, then each 8 bytes (the last few zero-padded) folded in through `mix`, which is
 * a bijection, so two texts of one length collide only where a fold does (about 2^-64). */
static inline uint64_t text_hash(const uint8_t *p, int64_t n, uint64_t seed)
{
    uint64_t h = mix(seed ^ (uint64_t)n);
    for (; n >= 8; p += 8, n -= 8) {
        h = mix(h ^ load64(p));
    }
    if (n > 0) {
        uint64_t tail = 0;
        memcpy(&tail, p, (size_t)n);
        h = mix(h ^ tail);
    }
    return h;
}

PyDoc_STRVAR(hash_texts_doc,
"hash_texts(offsets, data, seed_one, seed_two, one, two)\n--\n\n"
"Two hashes (uint64, into `one` and `two`) of each text of an Arrow large_string or large_binary array given as\n"
"its buffers: `offsets` (int64, one more than there are texts) into `data`.");

static PyObject *hash_texts(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer offsets, data, one, two;
    unsigned long long seed_one, seed_two;
    if (!PyArg_ParseTuple(args, "y*y*KKw*w*", &offsets, &data, &seed_one, &seed_two, &one, &two)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n = offsets.len / 8 - 1;
    if (offsets.len % 8 != 0 || n < 0 || one.len != n * 8 || two.len != n * 8) {
        PyErr_SetString(PyExc_ValueError, "offsets must be int64, one more than the uint64 hashes of each text");
        goto done;
    }
    const int64_t *at = offsets.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (at[i] < 0 || at[i + 1] < at[i] || at[i + 1] > data.len) {
            PyErr_SetString(PyExc_ValueError, "offsets must rise within the data");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *bytes = data.buf;
    uint64_t *a = one.buf, *b = two.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        a[i] = text_hash(bytes + at[i], at[i + 1] - at[i], seed_one);
        b[i] = text_hash(bytes + at[i], at[i + 1] - at[i], seed_two);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&one);
    PyBuffer_Release(&two);
    return result;
}

static PyMethodDef methods[] = {
    {"mix_codes", mix_codes, METH_VARARGS, mix_codes_doc},
    {"mix_bits", mix_bits, METH_VARARGS, mix_bits_doc},
    {"hash_texts", hash_texts, METH_VARARGS, hash_texts_doc},
    {"add", add, METH_VARARGS, add_doc},
    {"rehash", rehash, METH_VARARGS, rehash_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_rowset",
    "Rows hashed column by column, and a set of rows seen so far (95 bits of two row hashes), for exact repeats.",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__rowset(void)
{
    return PyModule_Create(&module);
}
