/*
 * HMAC-SHA256 over many fixed-width messages in one buffer, written as lower-case hex.
 *
 * Why C: Python's hmac costs about 2.5 us per row; here the ipad/opad midstates are computed once
 * and each row costs two SHA-256 compressions, with the GIL released so threads over chunks scale.
 * SHA-256 follows FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1, 6.2) and HMAC follows RFC 2104.
 * The pure-Python fallback in pseudonym/pseudonyms.py gives the same output where this is not built.
 *
 * On x86 processors with the SHA extensions (Intel's SHA-NI, checked once by CPUID) a block is compressed by
 * them; `portable=True` uses the plain C rounds, so tests can compare the two. Measured here on 1 M 12-byte
 * messages: 0.49 s with the plain rounds, 0.19 s with SHA-NI, 0.14 s with the one-block layout as well.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#define BLOCK 64
#define DIGEST 32

typedef void (*compress_fn)(uint32_t state[8], const uint8_t block[64]);

typedef struct {
    compress_fn compress;  /* the plain rounds or SHA-NI */
    uint32_t state[8];
    uint8_t buffer[BLOCK];
    size_t buffered;   /* bytes waiting in buffer */
    uint64_t length;   /* total bytes hashed so far */
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static void compress(uint32_t state[8], const uint8_t block[BLOCK])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++) {
        w[t] = ((uint32_t)block[4 * t] << 24) | ((uint32_t)block[4 * t + 1] << 16)
             | ((uint32_t)block[4 * t + 2] << 8) | (uint32_t)block[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
        w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    /* Eight rounds per pass with the working variables renamed instead of shifted (FIPS 180-4 6.2.2 step 3). */
#define ROUND(a, b, c, d, e, f, g, h, t)                               \
    do {                                                               \
        uint32_t t1 = h + BSIG1(e) + CH(e, f, g) + K[t] + w[t];        \
        d += t1;                                                       \
        h = t1 + BSIG0(a) + MAJ(a, b, c);                              \
    } while (0)
    for (int t = 0; t < 64; t += 8) {
        ROUND(a, b, c, d, e, f, g, h, t);
        ROUND(h, a, b, c, d, e, f, g, t + 1);
        ROUND(g, h, a, b, c, d, e, f, t + 2);
        ROUND(f, g, h, a, b, c, d, e, t + 3);
        ROUND(e, f, g, h, a, b, c, d, t + 4);
        ROUND(d, e, f, g, h, a, b, c, t + 5);
        ROUND(c, d, e, f, g, h, a, b, t + 6);
        ROUND(b, c, d, e, f, g, h, a, t + 7);
    }
#undef ROUND
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

#ifdef HAVE_SHA_NI
/* The same compression by the SHA extensions: the state kept as (A, B, E, F) and (C, D, G, H), four rounds per
 * group of message words, the schedule by SHA256MSG1/SHA256MSG2 (Intel's "SHA Extensions" paper, 2013). */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_sha_ni(uint32_t state[8], const uint8_t block[BLOCK])
{
    const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  /* CDAB */
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  /* EFGH */
    __m128i abef = _mm_alignr_epi8(dcba, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, dcba, 0xF0);
    const __m128i abef_before = abef, cdgh_before = cdgh;
    __m128i words[4];  /* the last four groups of message words: group i is at i & 3 */
    for (int i = 0; i < 16; i++) {
        __m128i group;
        if (i < 4) {
            group = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), big_endian);
        } else {
            group = _mm_add_epi32(_mm_sha256msg1_epu32(words[i & 3], words[(i + 1) & 3]),
                                  _mm_alignr_epi8(words[(i + 3) & 3], words[(i + 2) & 3], 4));
            group = _mm_sha256msg2_epu32(group, words[(i + 3) & 3]);
        }
        words[i & 3] = group;
        __m128i message = _mm_add_epi32(group, _mm_loadu_si128((const __m128i *)&K[4 * i]));
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(message, 0x0E));
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));  /* DCBA */
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));    /* HGFE */
}

/* CPUID: SHA (leaf 7, EBX bit 29), SSE4.1 (leaf 1, ECX bit 19) and SSSE3 (leaf 1, ECX bit 9). */
static int has_sha_ni(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) {
        return 0;
    }
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}
#endif

/* The compression in use: SHA-NI where the processor has it (set at import), else the plain rounds. */
static compress_fn compress_fast = compress;

/* The eight state words as the 32-byte digest (big-endian). */
static inline void big_endian_words(const uint32_t state[8], uint8_t out[DIGEST])
{
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(state[i] >> 24);
        out[4 * i + 1] = (uint8_t)(state[i] >> 16);
        out[4 * i + 2] = (uint8_t)(state[i] >> 8);
        out[4 * i + 3] = (uint8_t)state[i];
    }
}

/* The first `digits` lower-case hex characters of a digest. */
static inline void to_hex(const uint8_t digest[DIGEST], Py_ssize_t digits, uint8_t *out)
{
    static const char hex[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < digits; i++) {
        out[i] = (uint8_t)hex[(digest[i >> 1] >> ((i & 1) ? 0 : 4)) & 0x0f];
    }
}

static void sha256_init(sha256_ctx *ctx, compress_fn fn)
{
    ctx->compress = fn;
    memcpy(ctx->state, H0, sizeof H0);
    ctx->buffered = 0;
    ctx->length = 0;
}

static void sha256_update(sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->length += len;
    if (ctx->buffered) {
        size_t take = BLOCK - ctx->buffered < len ? BLOCK - ctx->buffered : len;
        memcpy(ctx->buffer + ctx->buffered, data, take);
        ctx->buffered += take;
        data += take;
        len -= take;
        if (ctx->buffered < BLOCK) {
            return;
        }
        ctx->compress(ctx->state, ctx->buffer);
        ctx->buffered = 0;
    }
    for (; len >= BLOCK; data += BLOCK, len -= BLOCK) {
        ctx->compress(ctx->state, data);
    }
    memcpy(ctx->buffer, data, len);
    ctx->buffered = len;
}

static void sha256_final(sha256_ctx *ctx, uint8_t digest[DIGEST])
{
    uint64_t bits = ctx->length * 8;
    ctx->buffer[ctx->buffered++] = 0x80;
    if (ctx->buffered > BLOCK - 8) {
        memset(ctx->buffer + ctx->buffered, 0, BLOCK - ctx->buffered);
        ctx->compress(ctx->state, ctx->buffer);
        ctx->buffered = 0;
    }
    memset(ctx->buffer + ctx->buffered, 0, BLOCK - 8 - ctx->buffered);
    for (int i = 0; i < 8; i++) {
        ctx->buffer[BLOCK - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    ctx->compress(ctx->state, ctx->buffer);
    big_endian_words(ctx->state, digest);
}

/* The two keyed midstates of RFC 2104: SHA-256 after absorbing (K ^ ipad) and (K ^ opad). */
static void hmac_midstates(const uint8_t *key, size_t key_len, sha256_ctx *inner, sha256_ctx *outer,
                           compress_fn fn)
{
    uint8_t block[BLOCK] = {0};
    if (key_len > BLOCK) {
        sha256_ctx hashed;
        sha256_init(&hashed, fn);
        sha256_update(&hashed, key, key_len);
        sha256_final(&hashed, block);
    } else {
        memcpy(block, key, key_len);
    }
    uint8_t pad[BLOCK];
    for (int i = 0; i < BLOCK; i++) pad[i] = block[i] ^ 0x36;
    sha256_init(inner, fn);
    sha256_update(inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++) pad[i] = block[i] ^ 0x5c;
    sha256_init(outer, fn);
    sha256_update(outer, pad, BLOCK);
}

PyDoc_STRVAR(hmac_sha256_hex_doc,
"hmac_sha256_hex(key, messages, width, digits, out, portable=False)\n--\n\n"
"HMAC-SHA256(key, m) for each `width`-byte message m in the contiguous buffer `messages`;\n"
"the first `digits` lower-case hex characters of each go, row after row, into the writable\n"
"buffer `out` (len(messages) / width * digits bytes). The GIL is released during the loop.\n"
"SHA-NI is used where the processor has it, unless `portable`.");

static PyObject *hmac_sha256_hex(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"key", "messages", "width", "digits", "out", "portable", NULL};
    Py_buffer key, messages, out;
    Py_ssize_t width, digits;
    int portable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*nnw*|p", names, &key, &messages, &width, &digits, &out,
                                     &portable)) {
        return NULL;
    }
    PyObject *result = NULL;
    if (width < 1) {
        PyErr_SetString(PyExc_ValueError, "width must be at least 1");
        goto done;
    }
    if (digits < 1 || digits > 2 * DIGEST) {
        PyErr_SetString(PyExc_ValueError, "digits must be between 1 and 64");
        goto done;
    }
    if (messages.len % width != 0) {
        PyErr_SetString(PyExc_ValueError, "the messages buffer is not a whole number of rows");
        goto done;
    }
    Py_ssize_t rows = messages.len / width;
    if (out.len != rows * digits) {
        PyErr_SetString(PyExc_ValueError, "the output buffer must hold exactly rows * digits bytes");
        goto done;
    }
    const uint8_t *src = messages.buf;
    uint8_t *dst = out.buf;
    sha256_ctx inner, outer;
    hmac_midstates(key.buf, (size_t)key.len, &inner, &outer, portable ? compress : compress_fast);

    Py_BEGIN_ALLOW_THREADS
    uint8_t digest[DIGEST];
    if (width <= BLOCK - 9) {
        /* A message that fits one padded block (a personnummer's 12 bytes do): both blocks are laid out once,
         * padding and length included, and each row only writes its message and inner digest into them. */
        uint8_t first[BLOCK] = {0}, second[BLOCK] = {0};
        first[width] = 0x80;
        second[DIGEST] = 0x80;
        for (int i = 0; i < 8; i++) {
            first[BLOCK - 1 - i] = (uint8_t)(((uint64_t)(BLOCK + width) * 8) >> (8 * i));
            second[BLOCK - 1 - i] = (uint8_t)(((uint64_t)(BLOCK + DIGEST) * 8) >> (8 * i));
        }
        for (Py_ssize_t row = 0; row < rows; row++, src += width, dst += digits) {
            uint32_t state[8];
            memcpy(first, src, (size_t)width);
            memcpy(state, inner.state, sizeof state);
            inner.compress(state, first);
            big_endian_words(state, second);
            memcpy(state, outer.state, sizeof state);
            outer.compress(state, second);
            big_endian_words(state, digest);
            to_hex(digest, digits, dst);
        }
    } else {
        for (Py_ssize_t row = 0; row < rows; row++, src += width, dst += digits) {
            sha256_ctx ctx = inner;
            sha256_update(&ctx, src, (size_t)width);
            sha256_final(&ctx, digest);
            ctx = outer;
            sha256_update(&ctx, digest, DIGEST);
            sha256_final(&ctx, digest);
            to_hex(digest, digits, dst);
        }
    }
    Py_END_ALLOW_THREADS

    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&messages);
    PyBuffer_Release(&out);
    return result;
}

PyDoc_STRVAR(sha_ni_doc, "sha_ni() -> bool\n--\n\nWhether blocks are compressed by the processor's SHA extensions.");

static PyObject *sha_ni(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(compress_fast != compress);
}

static PyMethodDef methods[] = {
    {"hmac_sha256_hex", (PyCFunction)(void (*)(void))hmac_sha256_hex, METH_VARARGS | METH_KEYWORDS,
     hmac_sha256_hex_doc},
    {"sha_ni", sha_ni, METH_NOARGS, sha_ni_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pseudonym._hmac",
    .m_doc = "HMAC-SHA256 over fixed-width rows in one buffer, as hex, without the GIL (FIPS 180-4, RFC 2104).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__hmac(void)
{
#ifdef HAVE_SHA_NI
    if (has_sha_ni()) {
        compress_fast = compress_sha_ni;
    }
#endif
    return PyModule_Create(&module);
}
