#include "core/runtime/heap_policy.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sb::runtime {

namespace {

std::atomic<bool> g_cacheOn{false};

std::size_t roundedBytes(std::size_t bytes)
{
    return ((bytes ? bytes : 1) + 63) / 64 * 64;
}

// Freed blocks, most recent first, with their rounded sizes.
class BlockCache
{
public:
    void *take(std::size_t rounded)
    {
        std::lock_guard lock(m_mutex);
        for (auto it = m_blocks.begin(); it != m_blocks.end(); ++it)
            if (it->first == rounded) {
                void *block = it->second;
                m_bytes -= rounded;
                m_blocks.erase(it);
                return block;
            }
        return nullptr;
    }

    void give(void *block, std::size_t rounded)
    {
        std::list<std::pair<std::size_t, void *>> evicted;
        {
            std::lock_guard lock(m_mutex);
            m_blocks.emplace_front(rounded, block);
            m_bytes += rounded;
            while (m_blocks.size() > kCachedBlocksMax || m_bytes > kCachedBytesMax) {
                m_bytes -= m_blocks.back().first;
                evicted.splice(evicted.end(), m_blocks, std::prev(m_blocks.end()));
            }
        }
        for (const auto &[bytes, old] : evicted)
            std::free(old);
    }

    void clear()
    {
        std::list<std::pair<std::size_t, void *>> all;
        {
            std::lock_guard lock(m_mutex);
            all.swap(m_blocks);
            m_bytes = 0;
        }
        for (const auto &[bytes, block] : all)
            std::free(block);
    }

    std::size_t size()
    {
        std::lock_guard lock(m_mutex);
        return m_blocks.size();
    }

private:
    std::mutex m_mutex;
    std::list<std::pair<std::size_t, void *>> m_blocks;
    std::size_t m_bytes = 0;
};

// Never destroyed: tensors may be freed while static objects are.
BlockCache &blockCache()
{
    static BlockCache *cache = new BlockCache;
    return *cache;
}

bool defaultsRequested(const char *variable)
{
    const char *mode = std::getenv(variable);
    return mode && std::strcmp(mode, "default") == 0;
}

} // namespace

bool keepRunBuffersMapped()
{
    if (defaultsRequested("SHARDBENCH_MALLOC") || defaultsRequested("SHARDBENCH_WORKER_MALLOC"))
        return false;
    g_cacheOn = true;
#if defined(__GLIBC__)
    // mallopt returns 1 on success.
    const bool mmapSet = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
    const bool trimSet = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
    return mmapSet && trimSet;
#else
    return false;
#endif
}

void *allocateTensorBlock(std::size_t bytes)
{
    const std::size_t rounded = roundedBytes(bytes);
    if (rounded >= kCachedBlockMinBytes && g_cacheOn.load(std::memory_order_relaxed))
        if (void *block = blockCache().take(rounded))
            return block;
    return std::aligned_alloc(64, rounded);
}

void freeTensorBlock(void *block, std::size_t bytes)
{
    if (!block)
        return;
    const std::size_t rounded = roundedBytes(bytes);
    if (rounded >= kCachedBlockMinBytes && g_cacheOn.load(std::memory_order_relaxed))
        blockCache().give(block, rounded);
    else
        std::free(block);
}

std::size_t cachedTensorBlocks()
{
    return blockCache().size();
}

void releaseCachedTensorBlocks()
{
    blockCache().clear();
}

} // namespace sb::runtime
