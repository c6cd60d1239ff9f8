#include "core/graph/blocks.h"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <unordered_map>

namespace sb::graph {
namespace {

// "layer.3" -> ("layer", true); "layer1" -> ("", false).
bool splitNumbered(const std::string &component, std::string &stem)
{
    auto dot = component.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == component.size())
        return false;
    for (std::size_t i = dot + 1; i < component.size(); ++i)
        if (component[i] < '0' || component[i] > '9')
            return false;
    stem = component.substr(0, dot);
    return true;
}

std::string joinScopes(const std::vector<std::string> &scopes, std::size_t count)
{
    std::string text;
    for (std::size_t i = 0; i < count && i < scopes.size(); ++i)
        text += "/" + scopes[i];
    return text;
}

} // namespace

std::vector<std::string> nameScopes(const std::string &nodeName)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        auto slash = nodeName.find('/', start);
        if (slash == std::string::npos) {
            parts.push_back(nodeName.substr(start));
            break;
        }
        parts.push_back(nodeName.substr(start, slash - start));
        start = slash + 1;
    }
    if (parts.size() < 2)
        return {};
    parts.pop_back(); // the op's own name
    parts.erase(std::remove(parts.begin(), parts.end(), std::string()), parts.end());
    return parts;
}

std::vector<std::string> blockKeys(const Graph &graph)
{
    const auto &nodes = graph.nodes();
    std::vector<std::vector<std::string>> scopes(nodes.size());
    // family ("/parent|stem") -> members
    std::map<std::string, std::set<std::string>> families;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        scopes[n] = nameScopes(nodes[n].name);
        for (std::size_t i = 0; i < scopes[n].size(); ++i) {
            std::string stem;
            if (!splitNumbered(scopes[n][i], stem))
                continue;
            std::string family = joinScopes(scopes[n], i) + "|" + stem;
            families[family].insert(scopes[n][i]);
        }
    }
    // Scopes that contain repeated layers (the parents of the families and
    // their ancestors): other nodes group one level below them.
    std::set<std::string> containers;
    for (const auto &[family, members] : families) {
        if (members.size() < 2)
            continue;
        std::string parent = family.substr(0, family.rfind('|'));
        for (std::string prefix = parent; !prefix.empty();
             prefix = prefix.substr(0, prefix.rfind('/')))
            containers.insert(prefix);
    }

    std::vector<std::string> keys(nodes.size());
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        const auto &s = scopes[n];
        if (s.empty())
            continue;
        bool found = false;
        for (std::size_t i = 0; i < s.size() && !found; ++i) {
            std::string stem;
            if (!splitNumbered(s[i], stem))
                continue;
            auto it = families.find(joinScopes(s, i) + "|" + stem);
            if (it != families.end() && it->second.size() >= 2) {
                keys[n] = joinScopes(s, i + 1);
                found = true;
            }
        }
        if (!found) {
            std::size_t depth = 1;
            while (depth < s.size() && containers.count(joinScopes(s, depth)))
                ++depth;
            keys[n] = joinScopes(s, depth);
        }
    }
    // Unscoped nodes that only transform constants (the Identity copies of
    // deduplicated weights PyTorch emits, Constant nodes) join the block of
    // their first consumer, so weights travel with the layer that uses them.
    for (std::size_t r = nodes.size(); r-- > 0;) {
        if (!keys[r].empty())
            continue;
        bool constantOnly = true;
        for (ValueId in : nodes[r].inputs)
            if (in != kNoValue && !graph.value(in).initializer)
                constantOnly = false;
        if (!constantOnly || !nodes[r].implicitInputs.empty())
            continue;
        for (ValueId out : nodes[r].outputs) {
            if (out == kNoValue || graph.value(out).consumers.empty())
                continue;
            keys[r] = keys[static_cast<std::size_t>(graph.value(out).consumers.front())];
            break;
        }
    }
    return keys;
}

void groupBlocks(Graph &graph)
{
    std::vector<std::string> keys = blockKeys(graph);
    const auto &nodes = graph.nodes();
    const std::size_t count = nodes.size();

    // Group ids in order of first appearance; singletons get their own.
    std::vector<int> group(count);
    std::vector<std::string> groupName;
    std::vector<std::vector<NodeId>> members;
    std::unordered_map<std::string, int> byKey;
    for (std::size_t n = 0; n < count; ++n) {
        int g;
        if (keys[n].empty()) {
            g = static_cast<int>(groupName.size());
            groupName.push_back(nodes[n].name);
            members.emplace_back();
        } else if (auto it = byKey.find(keys[n]); it != byKey.end()) {
            g = it->second;
        } else {
            g = static_cast<int>(groupName.size());
            byKey[keys[n]] = g;
            groupName.push_back(keys[n]);
            members.emplace_back();
        }
        group[n] = g;
        members[static_cast<std::size_t>(g)].push_back(static_cast<NodeId>(n));
    }

    // Block-level graph; Kahn with first-appearance priority.
    const std::size_t groups = groupName.size();
    std::vector<std::set<int>> succs(groups);
    std::vector<int> indegree(groups, 0);
    for (std::size_t n = 0; n < count; ++n) {
        auto addEdges = [&](const std::vector<ValueId> &values) {
            for (ValueId v : values) {
                if (v == kNoValue)
                    continue;
                NodeId producer = graph.value(v).producer;
                if (producer == kNoNode)
                    continue;
                int from = group[static_cast<std::size_t>(producer)];
                int to = group[n];
                if (from != to && succs[static_cast<std::size_t>(from)].insert(to).second)
                    ++indegree[static_cast<std::size_t>(to)];
            }
        };
        addEdges(nodes[n].inputs);
        addEdges(nodes[n].implicitInputs);
    }
    std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
    for (std::size_t g = 0; g < groups; ++g)
        if (indegree[g] == 0)
            ready.push(static_cast<int>(g));
    std::vector<int> groupOrder;
    while (!ready.empty()) {
        int g = ready.top();
        ready.pop();
        groupOrder.push_back(g);
        for (int s : succs[static_cast<std::size_t>(g)])
            if (--indegree[static_cast<std::size_t>(s)] == 0)
                ready.push(s);
    }

    std::vector<Node> reordered;
    reordered.reserve(count);
    std::vector<Block> blocks;
    if (groupOrder.size() == groups) {
        for (int g : groupOrder) {
            Block block;
            block.name = groupName[static_cast<std::size_t>(g)];
            for (NodeId n : members[static_cast<std::size_t>(g)]) {
                block.nodes.push_back(static_cast<NodeId>(reordered.size()));
                reordered.push_back(nodes[static_cast<std::size_t>(n)]);
            }
            blocks.push_back(std::move(block));
        }
    } else {
        // Interleaved scopes: keep the order, split groups into runs.
        std::vector<int> runsSeen(groups, 0);
        for (std::size_t n = 0; n < count; ++n) {
            int g = group[n];
            if (n == 0 || group[n - 1] != g) {
                Block block;
                int run = ++runsSeen[static_cast<std::size_t>(g)];
                block.name = groupName[static_cast<std::size_t>(g)];
                if (run > 1)
                    block.name += " (" + std::to_string(run) + ")";
                blocks.push_back(std::move(block));
            }
            blocks.back().nodes.push_back(static_cast<NodeId>(n));
            reordered.push_back(nodes[n]);
        }
    }
    for (std::size_t b = 0; b < blocks.size(); ++b)
        for (NodeId n : blocks[b].nodes)
            reordered[static_cast<std::size_t>(n)].block = static_cast<std::int32_t>(b);
    graph.mutableNodes() = std::move(reordered);
    graph.mutableBlocks() = std::move(blocks);
    graph.rebuildIndex();
}

} // namespace sb::graph
