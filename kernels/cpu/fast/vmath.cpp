#include "kernels/cpu/fast/vmath.h"

#include "kernels/cpu/fast/simd.h"

#include <cmath>
#include <limits>

#if SB_HAVE_AVX2_DISPATCH
#include <immintrin.h>
#endif

namespace sb::kernels {

namespace {

// ---- portable versions (same formulas as the reference kernels) ----------

void geluBase(const float *in, float *out, std::int64_t count)
{
    for (std::int64_t i = 0; i < count; ++i)
        out[i] = 0.5f * in[i] * (1.0f + std::erf(in[i] * 0.70710678118654752f));
}

void softmaxBase(const float *in, float *out, std::int64_t count)
{
    float mx = -std::numeric_limits<float>::infinity();
    for (std::int64_t i = 0; i < count; ++i)
        mx = in[i] > mx ? in[i] : mx;
    if (std::isinf(mx) && mx < 0) {
        for (std::int64_t i = 0; i < count; ++i)
            out[i] = std::numeric_limits<float>::quiet_NaN();
        return;
    }
    float sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        out[i] = std::exp(in[i] - mx);
        sum += out[i];
    }
    float inv = 1.0f / sum;
    for (std::int64_t i = 0; i < count; ++i)
        out[i] *= inv;
}

void layerNormBase(const float *in, float *out, std::int64_t count, const float *scale,
                   const float *bias, float epsilon)
{
    float sum = 0;
    for (std::int64_t i = 0; i < count; ++i)
        sum += in[i];
    float mean = sum / static_cast<float>(count);
    float var = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        float d = in[i] - mean;
        var += d * d;
    }
    var /= static_cast<float>(count);
    float inv = 1.0f / std::sqrt(var + epsilon);
    for (std::int64_t i = 0; i < count; ++i) {
        float v = (in[i] - mean) * inv * scale[i];
        out[i] = bias ? v + bias[i] : v;
    }
}

#if SB_HAVE_AVX2_DISPATCH

// ---- AVX2 + FMA ---------------------------------------------------------

// Cephes expf: exp(x) = 2^n * exp(r), r = x - n ln2 in [-ln2/2, ln2/2].
// Inputs below about -87.3 give (nearly) 0, NaN stays NaN.
SB_TARGET_AVX2 inline __m256 exp8(__m256 x)
{
    const __m256 hi = _mm256_set1_ps(88.3762626647949f);
    const __m256 lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x)); // x last: a NaN x passes through
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    // 2^n; n >= -127 after the clamp, and n = -127 builds 0 (fine: e^-88 ~ 0).
    __m256i n = _mm256_cvttps_epi32(fx);
    n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

// GELU through erfc(|z|) = t P(t) exp(-z^2) (A&S 7.1.26), z = x / sqrt(2):
// 1 + erf(z) = erfc(|z|) for z < 0 and 2 - erfc(|z|) otherwise.
SB_TARGET_AVX2 inline __m256 gelu8(__m256 x)
{
    const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    const __m256 erfcA =
        _mm256_mul_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))));
    const __m256 negative = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 onePlusErf =
        _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.0f), erfcA), erfcA, negative);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), onePlusErf);
}

SB_TARGET_AVX2 inline float horizontalSum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SB_TARGET_AVX2 inline float horizontalMax(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Mask with the first `rest` (0..7) lanes on, for row tails.
SB_TARGET_AVX2 inline __m256i tailMask(std::int64_t rest)
{
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rest)), lanes);
}

SB_TARGET_AVX2 void geluAvx2(const float *in, float *out, std::int64_t count)
{
    std::int64_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(out + i, gelu8(_mm256_loadu_ps(in + i)));
    if (i < count) {
        const __m256i mask = tailMask(count - i);
        _mm256_maskstore_ps(out + i, mask, gelu8(_mm256_maskload_ps(in + i, mask)));
    }
}

SB_TARGET_AVX2 void softmaxAvx2(const float *in, float *out, std::int64_t count)
{
    const float negInf = -std::numeric_limits<float>::infinity();
    std::int64_t i = 0;
    __m256 mx8 = _mm256_set1_ps(negInf);
    for (; i + 8 <= count; i += 8)
        mx8 = _mm256_max_ps(_mm256_loadu_ps(in + i), mx8);
    float mx = horizontalMax(mx8);
    for (; i < count; ++i)
        mx = in[i] > mx ? in[i] : mx;
    if (std::isinf(mx) && mx < 0) { // all -inf: match the reference (NaN)
        for (std::int64_t j = 0; j < count; ++j)
            out[j] = std::numeric_limits<float>::quiet_NaN();
        return;
    }
    const __m256 m = _mm256_set1_ps(mx);
    __m256 sum8 = _mm256_setzero_ps();
    i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(in + i), m));
        _mm256_storeu_ps(out + i, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    if (i < count) {
        const __m256i mask = tailMask(count - i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(in + i, mask), m));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(out + i, mask, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / horizontalSum(sum8));
    i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(out + i), inv));
    for (; i < count; ++i)
        out[i] *= _mm256_cvtss_f32(inv);
}

SB_TARGET_AVX2 void layerNormAvx2(const float *in, float *out, std::int64_t count,
                                  const float *scale, const float *bias, float epsilon)
{
    std::int64_t i = 0;
    __m256 sum8 = _mm256_setzero_ps();
    for (; i + 8 <= count; i += 8)
        sum8 = _mm256_add_ps(sum8, _mm256_loadu_ps(in + i));
    float sum = horizontalSum(sum8);
    for (; i < count; ++i)
        sum += in[i];
    const float mean = sum / static_cast<float>(count);
    const __m256 mean8 = _mm256_set1_ps(mean);
    __m256 var8 = _mm256_setzero_ps();
    i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(in + i), mean8);
        var8 = _mm256_fmadd_ps(d, d, var8);
    }
    float var = horizontalSum(var8);
    for (; i < count; ++i)
        var += (in[i] - mean) * (in[i] - mean);
    var /= static_cast<float>(count);
    const float inv = 1.0f / std::sqrt(var + epsilon);
    const __m256 inv8 = _mm256_set1_ps(inv);
    i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + i), mean8), inv8),
                                 _mm256_loadu_ps(scale + i));
        if (bias)
            v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
        _mm256_storeu_ps(out + i, v);
    }
    for (; i < count; ++i) {
        float v = (in[i] - mean) * inv * scale[i];
        out[i] = bias ? v + bias[i] : v;
    }
}

#endif

} // namespace

void geluRow(const float *in, float *out, std::int64_t count)
{
    SB_PICK_AVX2(geluBase, geluAvx2)(in, out, count);
}

void softmaxRow(const float *in, float *out, std::int64_t count)
{
    SB_PICK_AVX2(softmaxBase, softmaxAvx2)(in, out, count);
}

void layerNormRow(const float *in, float *out, std::int64_t count, const float *scale,
                  const float *bias, float epsilon)
{
    SB_PICK_AVX2(layerNormBase, layerNormAvx2)(in, out, count, scale, bias, epsilon);
}

} // namespace sb::kernels
