// Key-extracted LSD radix sort for core/eval's rankings (ROC/PR sweeps,
// calibration bins, quantiles, KS/Wasserstein samples, duplicate hashes).
//
// Keys are 64-bit unsigned integers; doubles map to them with orderedKey(),
// whose unsigned order is the numeric order of the doubles (-0.0 and +0.0
// map to the same key; NaN is not allowed). The sort is stable and carries
// an optional payload array along (row indices, labels), so it reproduces
// std::stable_sort by key exactly. 11-bit digits, 6 passes at most; a pass
// is skipped when every key has the same digit there (the sign/exponent
// bits of values in a narrow range). Large inputs are sorted by `threads`
// threads: each pass counts digits per block, then each thread scatters its
// own block into disjoint output ranges (still stable).
#pragma once

#include "core/eval/parallel.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

namespace sb::eval {

// Unsigned key with the numeric order of `value` (finite or +-inf).
inline std::uint64_t orderedKey(double value)
{
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(value + 0.0); // -0.0 -> +0.0
    return (bits >> 63) ? ~bits : bits | (std::uint64_t(1) << 63);
}

inline double fromOrderedKey(std::uint64_t key)
{
    return std::bit_cast<double>((key >> 63) ? key & ~(std::uint64_t(1) << 63) : ~key);
}

struct NoPayload
{
};

namespace detail {

template <typename T> std::unique_ptr<T[]> uninitialised(std::size_t n)
{
    return std::unique_ptr<T[]>(new T[n]); // no zero-filling of large scratch arrays
}

} // namespace detail

// Sorts keys ascending (stable) and permutes payload the same way.
// payload.size() must equal keys.size() (ignored for NoPayload).
template <typename P = NoPayload>
void radixSort(std::span<std::uint64_t> keys, std::span<P> payload = {}, unsigned threads = 0)
{
    constexpr bool withPayload = !std::is_same_v<P, NoPayload>;
    constexpr int kBits = 11;
    constexpr std::size_t kBuckets = std::size_t(1) << kBits;
    const std::size_t n = keys.size();
    if (n < 2)
        return;
    if (n < 4096) {
        // Small: an insertion-free stable sort through an index permutation.
        std::vector<std::uint32_t> order(n);
        for (std::size_t i = 0; i < n; ++i)
            order[i] = static_cast<std::uint32_t>(i);
        std::stable_sort(order.begin(), order.end(),
                         [&](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
        std::vector<std::uint64_t> k(n);
        for (std::size_t i = 0; i < n; ++i)
            k[i] = keys[order[i]];
        std::copy(k.begin(), k.end(), keys.begin());
        if constexpr (withPayload) {
            std::vector<P> p(n);
            for (std::size_t i = 0; i < n; ++i)
                p[i] = payload[order[i]];
            std::copy(p.begin(), p.end(), payload.begin());
        }
        return;
    }
    if (threads == 0)
        threads = defaultThreadCount();
    const std::size_t blocks = std::clamp<std::size_t>(n / (std::size_t(1) << 20), 1, threads);

    // Which digits vary at all (one counting pass over the keys).
    std::uint64_t orBits = 0, andBits = ~std::uint64_t(0);
    for (std::size_t i = 0; i < n; ++i) {
        orBits |= keys[i];
        andBits &= keys[i];
    }
    const std::uint64_t varying = orBits ^ andBits;

    auto keyScratch = detail::uninitialised<std::uint64_t>(n);
    std::unique_ptr<P[]> payloadScratch;
    if constexpr (withPayload)
        payloadScratch = detail::uninitialised<P>(n);
    std::uint64_t *src = keys.data(), *dst = keyScratch.get();
    P *psrc = nullptr, *pdst = nullptr;
    if constexpr (withPayload) {
        psrc = payload.data();
        pdst = payloadScratch.get();
    }
    std::vector<std::size_t> counts(blocks * kBuckets);
    for (int shift = 0; shift < 64; shift += kBits) {
        if (((varying >> shift) & (kBuckets - 1)) == 0)
            continue;
        std::fill(counts.begin(), counts.end(), 0);
        auto blockBegin = [&](std::size_t b) { return n * b / blocks; };
        parallelFor(blocks, static_cast<unsigned>(blocks), [&](std::size_t b) {
            std::size_t *c = &counts[b * kBuckets];
            for (std::size_t i = blockBegin(b), e = blockBegin(b + 1); i < e; ++i)
                ++c[(src[i] >> shift) & (kBuckets - 1)];
        });
        // Exclusive prefix over (digit, block): stable across blocks.
        std::size_t total = 0;
        for (std::size_t d = 0; d < kBuckets; ++d)
            for (std::size_t b = 0; b < blocks; ++b) {
                std::size_t &c = counts[b * kBuckets + d];
                const std::size_t here = c;
                c = total;
                total += here;
            }
        parallelFor(blocks, static_cast<unsigned>(blocks), [&](std::size_t b) {
            std::size_t *c = &counts[b * kBuckets];
            for (std::size_t i = blockBegin(b), e = blockBegin(b + 1); i < e; ++i) {
                const std::size_t at = c[(src[i] >> shift) & (kBuckets - 1)]++;
                dst[at] = src[i];
                if constexpr (withPayload)
                    pdst[at] = psrc[i];
            }
        });
        std::swap(src, dst);
        if constexpr (withPayload)
            std::swap(psrc, pdst);
    }
    if (src != keys.data()) {
        std::copy(src, src + n, keys.data());
        if constexpr (withPayload)
            std::copy(psrc, psrc + n, payload.data());
    }
}

// Concatenates `parts` (freeing each one as it is copied, so the peak is
// about one copy of the keys) and sorts the result.
inline std::vector<std::uint64_t> sortedFromParts(std::vector<std::vector<std::uint64_t>> &parts,
                                                  unsigned threads = 0)
{
    std::size_t total = 0;
    for (const auto &part : parts)
        total += part.size();
    std::vector<std::uint64_t> keys;
    keys.reserve(total);
    for (auto &part : parts) {
        keys.insert(keys.end(), part.begin(), part.end());
        std::vector<std::uint64_t>().swap(part);
    }
    parts.clear();
    radixSort<NoPayload>(keys, {}, threads);
    return keys;
}

// Sorts doubles ascending (no NaN) through their ordered keys.
inline void radixSortDoubles(std::span<double> values, unsigned threads = 0)
{
    if (values.size() < 4096) {
        std::sort(values.begin(), values.end());
        return;
    }
    std::vector<std::uint64_t> keys(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        keys[i] = orderedKey(values[i]);
    radixSort<NoPayload>(keys, {}, threads);
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = fromOrderedKey(keys[i]);
}

} // namespace sb::eval
