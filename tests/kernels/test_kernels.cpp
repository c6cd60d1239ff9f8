// Fast CPU kernels against the reference kernels (the oracle), per op, with
// the tolerance each fast kernel registers; and the "unsupported" outcome.
#include "core/runtime/executor.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/fast/blas.h"
#include "kernels/cpu/onednn/onednn.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

#include <QtTest>

#include <cstring>
#include <limits>
#include <random>
#include <set>

using namespace sb;
using namespace sb::runtime;

using namespace sb::kernel_tests;

namespace {

// Node attributes from a test row: lists as ints, doubles, strings, else ints.
std::map<std::string, graph::Attribute> attributesOf(const QVariantMap &attrs)
{
    std::map<std::string, graph::Attribute> attributes;
    for (auto it = attrs.begin(); it != attrs.end(); ++it) {
        if (it.value().typeId() == QMetaType::QVariantList) {
            std::vector<std::int64_t> v;
            for (const auto &x : it.value().toList())
                v.push_back(x.toLongLong());
            attributes[it.key().toStdString()] = ints(v);
        } else if (it.value().typeId() == QMetaType::Double) {
            attributes[it.key().toStdString()] = real(it.value().toDouble());
        } else if (it.value().typeId() == QMetaType::QString) {
            attributes[it.key().toStdString()] = text(it.value().toString().toStdString());
        } else {
            attributes[it.key().toStdString()] = integer(it.value().toLongLong());
        }
    }
    return attributes;
}

// A channels-last test row (channels_last.h): which operands the node reads /
// writes NHWC, and its attributes without the layout ones.
struct ChannelsLastRow
{
    std::set<std::int64_t> inputs;
    bool output = false;
    QVariantMap plainAttrs;
};

ChannelsLastRow channelsLastRow(const QVariantMap &attrs)
{
    ChannelsLastRow row;
    for (const QVariant &i : attrs.value("channels_last_inputs").toList())
        row.inputs.insert(i.toLongLong());
    row.output = attrs.value("channels_last_output", 0).toInt() != 0;
    row.plainAttrs = attrs;
    row.plainAttrs.remove("channels_last_inputs");
    row.plainAttrs.remove("channels_last_output");
    return row;
}

// NCHW <-> NHWC bytes of a 4-D tensor under its NCHW shape, element by
// element (independent of the kernels' own conversion).
Tensor relayout(const Tensor &t, bool toNhwc)
{
    Tensor r = Tensor::empty(t.type(), t.shape());
    const std::int64_t c = t.dim(1), h = t.dim(2), w = t.dim(3);
    const std::size_t size = t.byteSize() / static_cast<std::size_t>(t.elementCount());
    for (std::int64_t n = 0; n < t.dim(0); ++n)
        for (std::int64_t ci = 0; ci < c; ++ci)
            for (std::int64_t p = 0; p < h * w; ++p) {
                const std::int64_t nchw = ((n * c + ci) * h * w) + p;
                const std::int64_t nhwc = ((n * h * w + p) * c) + ci;
                const std::int64_t from = toNhwc ? nchw : nhwc, to = toNhwc ? nhwc : nchw;
                std::memcpy(static_cast<char *>(r.data()) + to * size,
                            static_cast<const char *>(t.data()) + from * size, size);
            }
    return r;
}

} // namespace

class TestKernels : public QObject
{
    Q_OBJECT

private slots:
    void fastMatchesReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("domain");
        QTest::addColumn<QList<QList<qlonglong>>>("shapes");
        QTest::addColumn<QVariantMap>("attrs");
        using S = QList<QList<qlonglong>>;
        QTest::newRow("MatMul 2d") << "MatMul"
                                   << "" << S{{64, 96}, {96, 80}} << QVariantMap{};
        QTest::newRow("MatMul batched shared B") << "MatMul"
                                                 << "" << S{{4, 33, 64}, {64, 48}} << QVariantMap{};
        QTest::newRow("MatMul batched broadcast")
            << "MatMul"
            << "" << S{{2, 4, 16, 32}, {2, 4, 32, 16}} << QVariantMap{};
        QTest::newRow("MatMul wide N split") << "MatMul"
                                             << "" << S{{20, 64}, {64, 300}} << QVariantMap{};
        QTest::newRow("FusedMatMul wide bias gelu")
            << "FusedMatMul"
            << "sb" << S{{2, 10, 32}, {32, 400}, {400}} << QVariantMap{{"activation", "Gelu"}};
        QTest::newRow("MatMul small batch") << "MatMul"
                                            << "" << S{{1, 8, 5}, {3, 5, 7}} << QVariantMap{};
        QTest::newRow("FusedMatMul gelu")
            << "FusedMatMul"
            << "sb" << S{{6, 40, 32}, {32, 64}, {64}} << QVariantMap{{"activation", "Gelu"}};
        QTest::newRow("Gemm transB bias")
            << "Gemm"
            << "" << S{{50, 70}, {30, 70}, {30}} << QVariantMap{{"transB", 1}};
        // Up to 4 rows go through matrix-vector products (blas.cpp).
        QTest::newRow("Gemm 2 rows transB bias wide")
            << "Gemm"
            << "" << S{{2, 300}, {700, 300}, {700}} << QVariantMap{{"transB", 1}, {"beta", 0.5}};
        QTest::newRow("Gemm 3 rows transA transB")
            << "Gemm"
            << "" << S{{40, 3}, {30, 40}} << QVariantMap{{"transA", 1}, {"transB", 1}};
        QTest::newRow("Gemm 4 rows transA alpha")
            << "Gemm"
            << "" << S{{40, 4}, {40, 30}, {4, 30}} << QVariantMap{{"transA", 1}, {"alpha", 0.25}};
        QTest::newRow("MatMul 1 row") << "MatMul"
                                      << "" << S{{1, 64}, {64, 300}} << QVariantMap{};
        QTest::newRow("Gemm transA") << "Gemm"
                                     << "" << S{{70, 50}, {70, 30}} << QVariantMap{{"transA", 1}};
        QTest::newRow("FusedGemm relu")
            << "FusedGemm"
            << "sb" << S{{50, 70}, {70, 30}, {1, 30}} << QVariantMap{{"activation", "Relu"}};
        QTest::newRow("Conv 3x3 pad") << "Conv"
                                      << "" << S{{2, 8, 17, 15}, {16, 8, 3, 3}, {16}}
                                      << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv stride 2")
            << "Conv"
            << "" << S{{1, 3, 32, 32}, {8, 3, 7, 7}}
            << QVariantMap{{"pads", QVariantList{3, 3, 3, 3}}, {"strides", QVariantList{2, 2}}};
        // An RGB stem (27 im2col rows): panels through pointwise.h's AVX-512
        // kernel (convIm2colSmallK), 32 channels, 552 outputs per image.
        QTest::newRow("FusedConv stem 3x3 s2 relu6 27 rows")
            << "FusedConv"
            << "sb" << S{{2, 3, 45, 47}, {32, 3, 3, 3}, {32}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"strides", QVariantList{2, 2}},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 6.0}};
        QTest::newRow("Conv 1x1") << "Conv"
                                  << "" << S{{2, 16, 9, 9}, {24, 16, 1, 1}, {24}} << QVariantMap{};
        QTest::newRow("Conv grouped")
            << "Conv"
            << "" << S{{1, 8, 10, 10}, {8, 2, 3, 3}}
            << QVariantMap{{"group", 4}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv depthwise") << "Conv"
                                        << "" << S{{2, 12, 11, 11}, {12, 1, 3, 3}, {12}}
                                        << QVariantMap{{"group", 12},
                                                       {"strides", QVariantList{2, 2}},
                                                       {"pads", QVariantList{1, 1, 1, 1}}};
        // Depthwise paths: 3x3 one-pass interior + scalar borders, per-tap rows
        // (other kernels, top/bottom padding), phase split for strides > 1.
        QTest::newRow("Conv depthwise s1 pad odd width")
            << "Conv"
            << "" << S{{2, 16, 14, 37}, {16, 1, 3, 3}, {16}}
            << QVariantMap{{"group", 16}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv depthwise s2 wide") << "Conv"
                                                << "" << S{{2, 8, 21, 45}, {8, 1, 3, 3}, {8}}
                                                << QVariantMap{{"group", 8},
                                                               {"strides", QVariantList{2, 2}},
                                                               {"pads", QVariantList{1, 1, 1, 1}}};
        // Stride 2 phase split with even and odd left pads, wide and narrow rows.
        QTest::newRow("Conv depthwise s2 no pad")
            << "Conv"
            << "" << S{{1, 4, 19, 40}, {4, 1, 3, 3}, {4}}
            << QVariantMap{{"group", 4}, {"strides", QVariantList{2, 2}}};
        QTest::newRow("Conv depthwise s2 pads 2,0")
            << "Conv"
            << "" << S{{1, 4, 17, 37}, {4, 1, 3, 3}, {4}}
            << QVariantMap{{"group", 4},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{2, 2, 0, 0}}};
        QTest::newRow("Conv depthwise s2 narrow")
            << "Conv"
            << "" << S{{1, 3, 9, 9}, {3, 1, 3, 3}, {3}}
            << QVariantMap{{"group", 3},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv depthwise no pad no bias")
            << "Conv"
            << "" << S{{1, 5, 12, 30}, {5, 1, 3, 3}} << QVariantMap{{"group", 5}};
        QTest::newRow("Conv depthwise dilated asym pad")
            << "Conv"
            << "" << S{{1, 4, 12, 27}, {4, 1, 3, 3}, {4}}
            << QVariantMap{{"group", 4},
                           {"dilations", QVariantList{2, 2}},
                           {"strides", QVariantList{1, 2}},
                           {"pads", QVariantList{2, 1, 0, 2}}};
        QTest::newRow("Conv depthwise 5x5 s2") << "Conv"
                                               << "" << S{{1, 6, 17, 33}, {6, 1, 5, 5}, {6}}
                                               << QVariantMap{{"group", 6},
                                                              {"strides", QVariantList{2, 2}},
                                                              {"pads", QVariantList{2, 2, 2, 2}}};
        QTest::newRow("Conv depthwise 5x5 s1 dilated")
            << "Conv"
            << "" << S{{1, 3, 13, 18}, {3, 1, 5, 5}, {3}}
            << QVariantMap{{"group", 3},
                           {"dilations", QVariantList{2, 1}},
                           {"pads", QVariantList{4, 2, 3, 1}}};
        QTest::newRow("Conv depthwise s(2,1)") << "Conv"
                                               << "" << S{{2, 4, 15, 17}, {4, 1, 3, 3}, {4}}
                                               << QVariantMap{{"group", 4},
                                                              {"strides", QVariantList{2, 1}},
                                                              {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv depthwise 7x7 planes relu6")
            << "FusedConv"
            << "sb" << S{{2, 24, 7, 7}, {24, 1, 3, 3}, {24}}
            << QVariantMap{{"group", 24},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        QTest::newRow("Conv depthwise s3 odd pads")
            << "Conv"
            << "" << S{{2, 3, 10, 23}, {3, 1, 3, 3}, {3}}
            << QVariantMap{{"group", 3},
                           {"strides", QVariantList{3, 3}},
                           {"pads", QVariantList{1, 0, 1, 2}}};
        QTest::newRow("Conv depthwise tiny planes")
            << "Conv"
            << "" << S{{2, 40, 2, 3}, {40, 1, 3, 3}, {40}}
            << QVariantMap{{"group", 40}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv depthwise 1d")
            << "Conv"
            << "" << S{{2, 4, 41}, {4, 1, 3}, {4}}
            << QVariantMap{{"group", 4}, {"pads", QVariantList{1, 1}}};
        QTest::newRow("FusedConv depthwise relu6 s1")
            << "FusedConv"
            << "sb" << S{{2, 8, 15, 29}, {8, 1, 3, 3}, {8}}
            << QVariantMap{{"group", 8},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        QTest::newRow("FusedConv depthwise relu6 s2")
            << "FusedConv"
            << "sb" << S{{2, 8, 16, 31}, {8, 1, 3, 3}, {8}}
            << QVariantMap{{"group", 8},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        // 3x3 rows for the 8- and 16-lane copies: 14 wide (masked at 16
        // lanes, overlapping at 8), 16 wide (whole vectors), stride 2 from
        // 61 columns (31 outputs: one 32-column split pass and a masked tail).
        QTest::newRow("FusedConv depthwise relu6 s1 14x14")
            << "FusedConv"
            << "sb" << S{{2, 6, 14, 14}, {6, 1, 3, 3}, {6}}
            << QVariantMap{{"group", 6},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        QTest::newRow("FusedConv depthwise relu s1 16 wide")
            << "FusedConv"
            << "sb" << S{{1, 4, 9, 16}, {4, 1, 3, 3}, {4}}
            << QVariantMap{
                   {"group", 4}, {"pads", QVariantList{1, 1, 1, 1}}, {"activation", "Relu"}};
        QTest::newRow("Conv depthwise s2 61 wide")
            << "Conv"
            << "" << S{{1, 4, 11, 61}, {4, 1, 3, 3}, {4}}
            << QVariantMap{{"group", 4},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("FusedConv depthwise relu")
            << "FusedConv"
            << "sb" << S{{1, 8, 9, 19}, {8, 1, 3, 3}}
            << QVariantMap{
                   {"group", 8}, {"pads", QVariantList{1, 1, 1, 1}}, {"activation", "Relu"}};
        // Fused 1x1 expand + depthwise conv: strides 1 and 2, Relu and ReLU6
        // (Clip) on either conv, odd planes, batch 2, channel blocks that
        // divide the channels, leave a remainder, are single channels or
        // chosen by the kernel (auto).
        QTest::newRow("FusedPointwiseDepthwise s1 relu6 13x11 block 8")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 5, 13, 11}, {24, 5, 1, 1}, {24}, {24, 1, 3, 3}, {24}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5},
                           {"channel_block", 8}};
        QTest::newRow("FusedPointwiseDepthwise s2 relu 13x11 block 6 remainder")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 7, 13, 11}, {20, 7, 1, 1}, {20}, {20, 1, 3, 3}, {20}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Relu"},
                           {"activation", "Relu"},
                           {"channel_block", 6}};
        QTest::newRow("FusedPointwiseDepthwise 7x7 relu6 no dw activation auto block")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 16, 7, 7}, {40, 16, 1, 1}, {40}, {40, 1, 3, 3}, {40}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5}};
        QTest::newRow("FusedPointwiseDepthwise s2 16x16 block 1")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{1, 4, 16, 16}, {6, 4, 1, 1}, {6}, {6, 1, 3, 3}, {6}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Relu"},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5},
                           {"channel_block", 1}};
        QTest::newRow("FusedPointwiseDepthwise s2 57x31 relu6 auto block")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 8, 57, 31}, {36, 8, 1, 1}, {36}, {36, 1, 3, 3}, {36}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        // Small planes: channels last, the images side by side in one GEMM.
        QTest::newRow("FusedPointwiseDepthwise 3 images 5x6 relu6 channels last")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{3, 12, 5, 6}, {70, 12, 1, 1}, {70}, {70, 1, 3, 3}, {70}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Relu"}};
        QTest::newRow("FusedPointwiseDepthwise 2 images 9x9 s2 channels last")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 8, 9, 9}, {300, 8, 1, 1}, {300}, {300, 1, 3, 3}, {300}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Relu"}};
        QTest::newRow("FusedPointwiseDepthwise 1 image 3x3 5x5 kernel channels last")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{1, 6, 3, 3}, {13, 6, 1, 1}, {13}, {13, 1, 5, 5}, {13}}
            << QVariantMap{{"pads", QVariantList{2, 2, 2, 2}},
                           {"activation", "Clip"},
                           {"clip_min", -0.2},
                           {"clip_max", 0.3}};
        QTest::newRow("FusedPointwiseDepthwise s2 28x28 relu6 (14-wide outputs)")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 8, 28, 28}, {40, 8, 1, 1}, {40}, {40, 1, 3, 3}, {40}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        // Large planes go in bands of rows, sharing rows between bands.
        QTest::newRow("FusedPointwiseDepthwise s1 80x40 relu6 bands")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 8, 80, 40}, {52, 8, 1, 1}, {52}, {52, 1, 3, 3}, {52}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5}};
        QTest::newRow("FusedPointwiseDepthwise s1 5x5 no pad 90x37 bands")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{1, 5, 90, 37}, {100, 5, 1, 1}, {100}, {100, 1, 5, 5}, {100}}
            << QVariantMap{{"pointwise_activation", "Relu"}};
        // The AVX-512 1x1 kernel (pointwise.h) at MobileNetV2's input channel
        // counts: planes (tiles of 8, 4, 2 and 1 channels, a masked last
        // pixel vector; 870 pixels = 18 tiles of 48 + 6) and channels last
        // (160 inputs, 190 channels: masked channel vectors, pixel tiles of
        // 8, 4, 2 and 1 over 98 pixels).
        QTest::newRow("FusedPointwiseDepthwise s1 30x29 24 inputs relu6")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 24, 30, 29}, {62, 24, 1, 1}, {62}, {62, 1, 3, 3}, {62}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 6.0},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 6.0}};
        QTest::newRow("FusedPointwiseDepthwise 7x7 160 inputs 190 channels last")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 160, 7, 7}, {190, 160, 1, 1}, {190}, {190, 1, 3, 3}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 6.0}};
        // Sample-parallel im2col + GEMM (batch a multiple of the threads), and
        // the split-GEMM path when it is not.
        QTest::newRow("Conv 3x3 batch 4") << "Conv"
                                          << "" << S{{4, 8, 9, 11}, {12, 8, 3, 3}, {12}}
                                          << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv grouped batch 2")
            << "Conv"
            << "" << S{{2, 8, 10, 10}, {8, 2, 3, 3}, {8}}
            << QVariantMap{{"group", 4}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("FusedConv 1x1 relu6 batch 2")
            << "FusedConv"
            << "sb" << S{{2, 16, 7, 7}, {24, 16, 1, 1}, {24}}
            << QVariantMap{{"activation", "Clip"}, {"clip_min", 0.0}, {"clip_max", 0.5}};
        // sb.FusedConv's residual input (Conv + Add + Relu), batch 2 and 3
        // (parts of unequal size over the threads).
        QTest::newRow("FusedConv 3x3 residual relu batch 2")
            << "FusedConv"
            << "sb" << S{{2, 16, 12, 12}, {16, 16, 3, 3}, {16}, {2, 16, 12, 12}}
            << QVariantMap{{"activation", "Relu"}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("FusedConv 1x1 residual batch 3")
            << "FusedConv"
            << "sb" << S{{3, 32, 7, 7}, {32, 32, 1, 1}, {32}, {3, 32, 7, 7}}
            << QVariantMap{{"activation", ""}};
        // 1x1 over small images side by side (one GEMM over both images'
        // 98 columns, scattered back with the residual): 37 output channels,
        // 200 input channels.
        QTest::newRow("FusedConv 1x1 side by side residual relu 200 inputs")
            << "FusedConv"
            << "sb" << S{{2, 200, 7, 7}, {37, 200, 1, 1}, {37}, {2, 37, 7, 7}}
            << QVariantMap{{"activation", "Relu"}};
        QTest::newRow("FusedConv 3x3 relu batch 2")
            << "FusedConv"
            << "sb" << S{{2, 8, 12, 13}, {16, 8, 3, 3}, {16}}
            << QVariantMap{{"activation", "Relu"},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}}};
        // Several output column panels per image, boundaries inside rows.
        QTest::newRow("Conv 3x3 panels") << "Conv"
                                         << "" << S{{1, 8, 30, 31}, {16, 8, 3, 3}, {16}}
                                         << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv 1x1 panels")
            << "Conv"
            << "" << S{{1, 300, 20, 21}, {320, 300, 1, 1}, {320}} << QVariantMap{};
        QTest::newRow("FusedConv s2 panels relu")
            << "FusedConv"
            << "sb" << S{{1, 40, 41, 37}, {24, 40, 3, 3}, {24}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Relu"}};
        QTest::newRow("Conv grouped panels batch 2")
            << "Conv"
            << "" << S{{2, 64, 20, 20}, {32, 32, 3, 3}, {32}}
            << QVariantMap{{"group", 2}, {"pads", QVariantList{1, 1, 1, 1}}};
        // Winograd F(2x2, 3x3): odd output sizes, no or asymmetric padding,
        // tile runs across images and several tile blocks.
        QTest::newRow("Conv winograd no pad odd")
            << "Conv"
            << "" << S{{2, 9, 14, 19}, {10, 9, 3, 3}, {10}} << QVariantMap{};
        QTest::newRow("FusedConv winograd relu asym pads")
            << "FusedConv"
            << "sb" << S{{2, 16, 13, 16}, {8, 16, 3, 3}, {8}}
            << QVariantMap{{"pads", QVariantList{0, 2, 1, 0}}, {"activation", "Relu"}};
        QTest::newRow("Conv winograd blocks") << "Conv"
                                              << "" << S{{2, 32, 20, 21}, {24, 32, 3, 3}, {24}}
                                              << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("Conv winograd 64 channels no bias")
            << "Conv"
            << "" << S{{1, 64, 16, 16}, {64, 64, 3, 3}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("FusedMatMul relu")
            << "FusedMatMul"
            << "sb" << S{{2, 40, 32}, {32, 37}, {37}} << QVariantMap{{"activation", "Relu"}};
        QTest::newRow("Conv dilated 1d")
            << "Conv"
            << "" << S{{2, 4, 20}, {6, 4, 3}} << QVariantMap{{"dilations", QVariantList{2}}};
        QTest::newRow("FusedConv clip")
            << "FusedConv"
            << "sb" << S{{1, 4, 8, 8}, {4, 4, 3, 3}}
            << QVariantMap{{"activation", "Clip"}, {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("MaxPool 3x3 s2") << "MaxPool"
                                        << "" << S{{2, 4, 13, 13}}
                                        << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                       {"strides", QVariantList{2, 2}},
                                                       {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("MaxPool 3x3 s2 wide") << "MaxPool"
                                             << "" << S{{2, 3, 21, 45}}
                                             << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                            {"strides", QVariantList{2, 2}},
                                                            {"pads", QVariantList{1, 1, 1, 1}}};
        // The 3x3 stride-2 loop of its own (AVX-512): ResNet's stem pool,
        // no padding, ceil mode (windows past the bottom and right edges),
        // asymmetric padding.
        QTest::newRow("MaxPool 3x3 s2 resnet stem")
            << "MaxPool"
            << "" << S{{2, 64, 112, 112}}
            << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}}};
        QTest::newRow("MaxPool 3x3 s2 no pads")
            << "MaxPool"
            << "" << S{{1, 3, 17, 40}}
            << QVariantMap{{"kernel_shape", QVariantList{3, 3}}, {"strides", QVariantList{2, 2}}};
        QTest::newRow("MaxPool 3x3 s2 ceil") << "MaxPool"
                                             << "" << S{{1, 2, 16, 34}}
                                             << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                            {"strides", QVariantList{2, 2}},
                                                            {"ceil_mode", 1}};
        QTest::newRow("MaxPool 3x3 s2 asym pads")
            << "MaxPool"
            << "" << S{{1, 2, 15, 33}}
            << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 0, 0, 1}}};
        QTest::newRow("GlobalAveragePool 7x7") << "GlobalAveragePool"
                                               << "" << S{{2, 40, 7, 7}} << QVariantMap{};
        QTest::newRow("GlobalAveragePool 3-D long rows") << "GlobalAveragePool"
                                                         << "" << S{{1, 3, 1000}} << QVariantMap{};
        QTest::newRow("GlobalMaxPool 5x9") << "GlobalMaxPool"
                                           << "" << S{{2, 6, 5, 9}} << QVariantMap{};
        QTest::newRow("MaxPool 2x2 s2 ceil") << "MaxPool"
                                             << "" << S{{1, 4, 11, 17}}
                                             << QVariantMap{{"kernel_shape", QVariantList{2, 2}},
                                                            {"strides", QVariantList{2, 2}},
                                                            {"ceil_mode", 1}};
        QTest::newRow("MaxPool dilated s1") << "MaxPool"
                                            << "" << S{{1, 2, 12, 19}}
                                            << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                           {"dilations", QVariantList{2, 2}},
                                                           {"pads", QVariantList{2, 2, 2, 2}}};
        QTest::newRow("MaxPool 5x5 s3 asym pads")
            << "MaxPool"
            << "" << S{{1, 3, 16, 29}}
            << QVariantMap{{"kernel_shape", QVariantList{5, 5}},
                           {"strides", QVariantList{3, 3}},
                           {"pads", QVariantList{2, 1, 2, 0}}};
        QTest::newRow("Conv s3 dilated asym pad")
            << "Conv"
            << "" << S{{2, 4, 17, 23}, {6, 4, 3, 3}, {6}}
            << QVariantMap{{"strides", QVariantList{3, 3}},
                           {"dilations", QVariantList{2, 1}},
                           {"pads", QVariantList{1, 2, 0, 1}}};
        QTest::newRow("AveragePool ceil") << "AveragePool"
                                          << "" << S{{1, 3, 10, 10}}
                                          << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                         {"strides", QVariantList{2, 2}},
                                                         {"ceil_mode", 1}};
        QTest::newRow("BatchNormalization")
            << "BatchNormalization"
            << "" << S{{2, 5, 4, 4}, {5}, {5}, {5}, {5}} << QVariantMap{};
        QTest::newRow("Softmax last") << "Softmax"
                                      << "" << S{{4, 7, 33}} << QVariantMap{};
        QTest::newRow("Softmax mid axis") << "Softmax"
                                          << "" << S{{4, 7, 3}} << QVariantMap{{"axis", 1}};
        QTest::newRow("LayerNormalization") << "LayerNormalization"
                                            << "" << S{{3, 5, 64}, {64}, {64}} << QVariantMap{};
        // Rows whose length leaves a tail for both the 8- and 16-lane copies.
        QTest::newRow("LayerNormalization tail")
            << "LayerNormalization"
            << "" << S{{2, 3, 77}, {77}, {77}} << QVariantMap{};
        QTest::newRow("Softmax long row") << "Softmax"
                                          << "" << S{{2, 1031}} << QVariantMap{};
        QTest::newRow("Gelu") << "Gelu"
                              << "sb" << S{{1000}} << QVariantMap{};
        QTest::newRow("Relu") << "Relu"
                              << "" << S{{70000}} << QVariantMap{};
    }
    void fastMatchesReference()
    {
        QFETCH(QString, op);
        QFETCH(QString, domain);
        QFETCH(QList<QList<qlonglong>>, shapes);
        QFETCH(QVariantMap, attrs);
        const auto &registry = kernels::defaultRegistry();
        const KernelInfo *fast = registry.findExact(op.toStdString(), domain.toStdString(),
                                                    DeviceKind::Cpu, KernelVariant::Fast);
        const KernelInfo *ref = registry.findExact(op.toStdString(), domain.toStdString(),
                                                   DeviceKind::Cpu, KernelVariant::Reference);
        QVERIFY(fast && ref);
        std::vector<Tensor> inputs;
        unsigned seed = 1;
        for (const auto &s : shapes) {
            Shape shape(s.begin(), s.end());
            inputs.push_back(randomTensor(shape, seed++));
        }
        if (op == "BatchNormalization") // variance must be positive
            for (std::int64_t i = 0; i < inputs[4].elementCount(); ++i)
                inputs[4].as<float>()[i] = std::fabs(inputs[4].as<float>()[i]) + 0.1f;
        const std::map<std::string, graph::Attribute> attributes = attributesOf(attrs);
        auto g = singleNode(op.toStdString(), domain.toStdString(), inputs, attributes);
        auto reference = runVariant(g, inputs, KernelVariant::Reference, 1);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        // Every implementation the conv/matmul kernels choose from: ours,
        // oneDNN on plain and on blocked layouts, and the timed choice.
        const std::pair<kernels::KernelChoice, const char *> choices[] = {
            {kernels::KernelChoice::Ours, "ours"},
            {kernels::KernelChoice::OneDnn, "onednn"},
            {kernels::KernelChoice::OneDnnBlocked, "onednn-blocked"},
            {kernels::KernelChoice::Auto, "auto"}};
        for (const auto &[choice, choiceName] : choices) {
            kernels::setKernelChoice(choice);
            for (int threads : {1, 2, 3}) {
                auto result = runVariant(g, inputs, KernelVariant::Fast, threads);
                QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
                CompareResult cmp =
                    compareTensors(*result, *reference, fast->tolerance.rtol, fast->tolerance.atol);
                QVERIFY2(cmp.ok,
                         (std::string(choiceName) + ", " + std::to_string(threads) +
                          " threads, ISA " + kernels::cpuIsaDescription() + ": " + cmp.message)
                             .c_str());
            }
        }
        kernels::setKernelChoice(kernels::KernelChoice::Auto);
    }

    // float32 channels-last operands (the fusion pass stores values between
    // convolutions and pools NHWC for oneDNN, channels_last.h): the fast
    // kernels (every implementation the conv chooses from, 1-3 threads) and
    // the reference give the plain node's values.
    void floatChannelsLastMatchesReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("domain");
        QTest::addColumn<QList<QList<qlonglong>>>("shapes"); // x, then constants
        QTest::addColumn<QVariantMap>("attrs");
        using S = QList<QList<qlonglong>>;
        const QVariantList in0{0}, in03{0, 3};
        QTest::newRow("FusedConv 3x3 relu x and y")
            << "FusedConv"
            << "sb" << S{{2, 16, 9, 11}, {24, 16, 3, 3}, {24}}
            << QVariantMap{{"activation", "Relu"},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedConv 3x3 s2 residual y only")
            << "FusedConv"
            << "sb" << S{{2, 8, 12, 13}, {16, 8, 3, 3}, {16}, {2, 16, 6, 7}}
            << QVariantMap{{"activation", "Relu"},
                           {"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"channels_last_inputs", QVariantList{3}},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedConv 1x1 residual all")
            << "FusedConv"
            << "sb" << S{{2, 32, 7, 7}, {40, 32, 1, 1}, {40}, {2, 40, 7, 7}}
            << QVariantMap{
                   {"activation", ""}, {"channels_last_inputs", in03}, {"channels_last_output", 1}};
        QTest::newRow("Conv 7x7 s2 x planar, y channels-last")
            << "Conv"
            << "" << S{{2, 3, 20, 20}, {8, 3, 7, 7}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{3, 3, 3, 3}},
                           {"channels_last_output", 1}};
        QTest::newRow("Conv 3x3 x channels-last only")
            << "Conv"
            << "" << S{{1, 5, 8, 8}, {6, 5, 3, 3}, {6}}
            << QVariantMap{{"channels_last_inputs", in0}};
        QTest::newRow("MaxPool 3x3 s2") << "MaxPool"
                                        << "" << S{{2, 20, 15, 17}}
                                        << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                       {"strides", QVariantList{2, 2}},
                                                       {"pads", QVariantList{1, 1, 1, 1}},
                                                       {"channels_last_inputs", in0},
                                                       {"channels_last_output", 1}};
        QTest::newRow("MaxPool 2x2 dilated ceil")
            << "MaxPool"
            << "" << S{{1, 9, 11, 10}}
            << QVariantMap{{"kernel_shape", QVariantList{2, 2}},
                           {"dilations", QVariantList{2, 2}},
                           {"ceil_mode", 1},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
        QTest::newRow("GlobalAveragePool 70 channels")
            << "GlobalAveragePool"
            << "" << S{{2, 70, 5, 6}} << QVariantMap{{"channels_last_inputs", in0}};
        // Fused expand + depthwise: channels last as they are up to 16x16
        // planes (whole and masked vectors, taps over the register-held
        // sums), through planar copies above it or with a forced block.
        QTest::newRow("FusedPointwiseDepthwise 7x7 relu6 x and y")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 16, 7, 7}, {96, 16, 1, 1}, {96}, {96, 1, 3, 3}, {96}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Clip"},
                           {"pointwise_clip_min", 0.0},
                           {"pointwise_clip_max", 0.5},
                           {"activation", "Clip"},
                           {"clip_min", 0.0},
                           {"clip_max", 0.5},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedPointwiseDepthwise 14x14 s2 70 channels x only")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 24, 14, 14}, {70, 24, 1, 1}, {70}, {70, 1, 3, 3}, {70}}
            << QVariantMap{{"strides", QVariantList{2, 2}},
                           {"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Relu"},
                           {"activation", "Relu"},
                           {"channels_last_inputs", in0}};
        QTest::newRow("FusedPointwiseDepthwise 3 images 5x6 gelu y only")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{3, 12, 5, 6}, {100, 12, 1, 1}, {100}, {100, 1, 3, 3}, {100}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"activation", "Gelu"},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedPointwiseDepthwise 3x3 5x5 kernel x and y")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{1, 6, 3, 3}, {13, 6, 1, 1}, {13}, {13, 1, 5, 5}, {13}}
            << QVariantMap{{"pads", QVariantList{2, 2, 2, 2}},
                           {"activation", "Clip"},
                           {"clip_min", -0.2},
                           {"clip_max", 0.3},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedPointwiseDepthwise 20x18 planes x and y (planar copies)")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 8, 20, 18}, {36, 8, 1, 1}, {36}, {36, 1, 3, 3}, {36}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"pointwise_activation", "Relu"},
                           {"activation", "Relu"},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
        QTest::newRow("FusedPointwiseDepthwise 7x7 block 8 x and y (planar copies)")
            << "FusedPointwiseDepthwise"
            << "sb" << S{{2, 16, 7, 7}, {40, 16, 1, 1}, {40}, {40, 1, 3, 3}, {40}}
            << QVariantMap{{"pads", QVariantList{1, 1, 1, 1}},
                           {"channel_block", 8},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}};
    }
    void floatChannelsLastMatchesReference()
    {
        QFETCH(QString, op);
        QFETCH(QString, domain);
        QFETCH(QList<QList<qlonglong>>, shapes);
        QFETCH(QVariantMap, attrs);
        const ChannelsLastRow row = channelsLastRow(attrs);
        const std::set<std::int64_t> &lastInputs = row.inputs;
        const QVariantMap &plainAttrs = row.plainAttrs;
        std::vector<Tensor> tensors;
        unsigned seed = 7;
        for (const auto &shape : shapes)
            tensors.push_back(randomTensor(Shape(shape.begin(), shape.end()), seed++));
        const Tensor x = tensors[0];
        const std::vector<Tensor> constants(tensors.begin() + 1, tensors.end());
        std::vector<Tensor> laidOut = constants;
        for (std::int64_t i : lastInputs)
            if (i > 0)
                laidOut[static_cast<std::size_t>(i - 1)] =
                    relayout(constants[static_cast<std::size_t>(i - 1)], true);
        // (vectors of one made with (1, t): GCC 12 warns -Warray-bounds on {t})
        const std::vector<Tensor> xs(1, x);
        const std::vector<Tensor> xsIn(1, lastInputs.count(0) ? relayout(x, true) : x);
        auto plain = singleNode(op.toStdString(), domain.toStdString(), xs,
                                attributesOf(plainAttrs), constants);
        auto laid =
            singleNode(op.toStdString(), domain.toStdString(), xs, attributesOf(attrs), laidOut);
        auto reference = runVariant(plain, xs, KernelVariant::Reference, 1);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        const KernelInfo *fast = kernels::defaultRegistry().findExact(
            op.toStdString(), domain.toStdString(), DeviceKind::Cpu, KernelVariant::Fast);
        QVERIFY(fast);
        auto check = [&](KernelVariant variant, int threads, const std::string &what) {
            auto result = runVariant(laid, xsIn, variant, threads);
            QVERIFY2(result.ok(),
                     (what + ": " + (result.ok() ? "" : result.error().message)).c_str());
            // The node wrote NHWC; the executor hands a graph output back
            // planar (so a kernel that wrote NCHW would come back shuffled).
            const Tensor &y = *result;
            CompareResult cmp =
                compareTensors(y, *reference, fast->tolerance.rtol, fast->tolerance.atol);
            QVERIFY2(cmp.ok,
                     (what + ", ISA " + kernels::cpuIsaDescription() + ": " + cmp.message).c_str());
        };
        check(KernelVariant::Reference, 1, "reference");
        const std::pair<kernels::KernelChoice, const char *> choices[] = {
            {kernels::KernelChoice::Ours, "ours"},
            {kernels::KernelChoice::OneDnn, "onednn"},
            {kernels::KernelChoice::OneDnnBlocked, "onednn-blocked"},
            {kernels::KernelChoice::Auto, "auto"}};
        for (const auto &[choice, choiceName] : choices) {
            kernels::setKernelChoice(choice);
            for (int threads : {1, 2, 3})
                check(KernelVariant::Fast, threads,
                      std::string(choiceName) + ", " + std::to_string(threads) + " threads");
        }
        kernels::setKernelChoice(kernels::KernelChoice::Auto);
    }

    // The kernel a node ran is named (bench --profile): oneDNN's
    // implementation when oneDNN is chosen, ours otherwise; primitives and
    // blocked weights are made once per session (the second run reuses
    // them: same kernel, no new persistent bytes) and the scratch they use
    // is in the memory plan (planned peak = measured peak).
    void kernelChoiceIsNamedAndKept_data()
    {
        QTest::addColumn<int>("choice");
        QTest::addColumn<bool>("expectOneDnn");
        QTest::newRow("ours") << int(kernels::KernelChoice::Ours) << false;
        QTest::newRow("onednn") << int(kernels::KernelChoice::OneDnn) << true;
        QTest::newRow("onednn-blocked") << int(kernels::KernelChoice::OneDnnBlocked) << true;
    }
    void kernelChoiceIsNamedAndKept()
    {
        QFETCH(int, choice);
        QFETCH(bool, expectOneDnn);
        kernels::setKernelChoice(static_cast<kernels::KernelChoice>(choice));
        // Conv with constant weights (an initializer) and bias, then MatMul
        // with constant B: the weights the session reorders once.
        auto g = std::make_shared<graph::Graph>();
        g->opsets[""] = 17;
        auto constant = [&](const std::string &name, const Tensor &t) {
            graph::Value v;
            v.name = name;
            v.info.type = ElementType::Float32;
            std::vector<std::uint8_t> bytes(static_cast<std::size_t>(t.byteSize()));
            std::memcpy(bytes.data(), t.data(), bytes.size());
            v.initializer = graph::TensorData::fromBytes(
                ElementType::Float32, std::vector<std::int64_t>(t.shape().begin(), t.shape().end()),
                std::move(bytes));
            return g->addValue(v);
        };
        graph::Value x;
        x.name = "x";
        x.info.type = ElementType::Float32;
        const auto xId = g->addValue(x);
        g->mutableInputs().push_back(xId);
        graph::Value mid, out;
        mid.name = "mid";
        out.name = "out";
        const auto midId = g->addValue(mid), outId = g->addValue(out);
        graph::Node conv;
        conv.name = "conv";
        conv.opType = "Conv";
        conv.inputs = {xId, constant("w", randomTensor({16, 8, 3, 3}, 2)),
                       constant("b", randomTensor({16}, 3))};
        conv.attributes["pads"] = ints({1, 1, 1, 1});
        conv.outputs = {midId};
        graph::Node mm;
        mm.name = "mm";
        mm.opType = "MatMul";
        mm.inputs = {midId, constant("m", randomTensor({10, 24}, 4))};
        mm.outputs = {outId};
        g->mutableNodes() = {conv, mm};
        g->mutableOutputs() = {outId};
        g->rebuildIndex();
        CpuDevice device("cpu:0", 2, 0, kernels::defaultRegistry());
        auto executor = Executor::create(g, device, {});
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        TensorMap inputs{{"x", randomTensor({2, 8, 10, 10}, 1)}};
        std::map<std::string, std::string> kernelOf;
        RunOptions options;
        options.onNode = [&](const NodeEvent &e) { kernelOf[*e.name] = e.kernel ? e.kernel : ""; };
        auto first = (*executor)->run(inputs, options);
        QVERIFY2(first.ok(), first.ok() ? "" : first.error().message.c_str());
        const auto firstKernels = kernelOf;
        auto second = (*executor)->run(inputs, options);
        QVERIFY(second.ok());
        QVERIFY(second->stats.usedArena);
        QCOMPARE(second->stats.peakMemoryBytes, second->stats.plannedPeakMemoryBytes);
        QCOMPARE(kernelOf, firstKernels);
        for (const char *node : {"conv", "mm"}) {
            const std::string &name = kernelOf[node];
            const bool oneDnn = name.rfind("oneDNN ", 0) == 0;
            QVERIFY2(oneDnn == (expectOneDnn && kernels::oneDnnAvailable()),
                     (std::string(node) + " ran '" + name + "'").c_str());
            if (!oneDnn)
                QVERIFY2(name.rfind("ours ", 0) == 0, name.c_str());
        }
        // Same values as the reference kernels.
        ExecutorOptions refOptions;
        refOptions.variant = KernelVariant::Reference;
        auto refExec = Executor::create(g, device, refOptions);
        QVERIFY(refExec.ok());
        auto expected = (*refExec)->run(inputs);
        QVERIFY(expected.ok());
        CompareResult cmp =
            compareTensors(second->outputs.at("out"), expected->outputs.at("out"), 1e-4, 1e-4);
        QVERIFY2(cmp.ok, cmp.message.c_str());
        kernels::setKernelChoice(kernels::KernelChoice::Auto);
    }

    // The int8 kernels (oneDNN's u8s8 / s8s8 convolution and matmul, the
    // typed Q/DQ, QLinearAdd and MaxPool loops) against the reference
    // kernels, with constant weights, scales and zero points as a QDQ graph
    // has them, on 1 and 2 threads (batches split into parts, with a tail).
    // Convolution and matmul may differ by one quantization step where
    // oneDNN rounds a tie the other way (at most 1% of the values); the
    // others match bit for bit. test_kernels_avx2 runs the AVX2 paths.
    void int8KernelsMatchReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("domain");
        QTest::addColumn<QString>("xType");           // "u8" | "s8"
        QTest::addColumn<QList<qlonglong>>("xShape"); // the graph input
        QTest::addColumn<QList<qlonglong>>("wShape"); // conv / gemm weights, or the 2nd Add input
        QTest::addColumn<QVariantMap>("attrs");
        QTest::addColumn<bool>("oneDnn"); // runs oneDNN's int8 kernels when built in
        using L = QList<qlonglong>;
        const QVariantList pad1{1, 1, 1, 1};
        QTest::newRow("QLinearConv 3x3 u8 bias")
            << "QLinearConv"
            << ""
            << "u8" << L{2, 16, 12, 11} << L{24, 16, 3, 3} << QVariantMap{{"pads", pad1}} << true;
        QTest::newRow("sb.QLinearConv relu stride 2 s8 batch 3")
            << "QLinearConv"
            << "sb"
            << "s8" << L{3, 8, 15, 15} << L{16, 8, 3, 3}
            << QVariantMap{{"pads", pad1}, {"strides", QVariantList{2, 2}}, {"activation", "Relu"}}
            << true;
        QTest::newRow("sb.QLinearConv 1x1 relu") << "QLinearConv"
                                                 << "sb"
                                                 << "u8" << L{2, 32, 7, 7} << L{64, 32, 1, 1}
                                                 << QVariantMap{{"activation", "Relu"}} << true;
        QTest::newRow("sb.QLinearConv depthwise")
            << "QLinearConv"
            << "sb"
            << "u8" << L{1, 16, 9, 9} << L{16, 1, 3, 3}
            << QVariantMap{{"pads", pad1}, {"group", 16}} << true;
        QTest::newRow("sb.QGemm transB relu")
            << "QGemm"
            << "sb"
            << "u8" << L{5, 64} << L{40, 64} << QVariantMap{{"transB", 1}, {"activation", "Relu"}}
            << true;
        QTest::newRow("sb.QGemm s8 rows")
            << "QGemm"
            << "sb"
            << "s8" << L{2, 3, 48} << L{48, 20} << QVariantMap{} << true;
        QTest::newRow("QuantizeLinear u8") << "QuantizeLinear"
                                           << ""
                                           << "u8" << L{3, 1000} << L{} << QVariantMap{} << false;
        QTest::newRow("QuantizeLinear s8") << "QuantizeLinear"
                                           << ""
                                           << "s8" << L{40001} << L{} << QVariantMap{} << false;
        QTest::newRow("DequantizeLinear u8") << "DequantizeLinear"
                                             << ""
                                             << "u8" << L{2, 5000} << L{} << QVariantMap{} << false;
        QTest::newRow("sb.QLinearAdd relu") << "QLinearAdd"
                                            << "sb"
                                            << "u8" << L{2, 8, 40, 40} << L{2, 8, 40, 40}
                                            << QVariantMap{{"activation", "Relu"}} << false;
        QTest::newRow("MaxPool u8") << "MaxPool"
                                    << ""
                                    << "u8" << L{2, 4, 17, 16} << L{}
                                    << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                                                   {"strides", QVariantList{2, 2}},
                                                   {"pads", pad1}}
                                    << false;
        // Channels-last operands (kernels/cpu/channels_last.h: NHWC bytes
        // under the NCHW shape), as the fusion pass marks int8 chains; the
        // oracle is the reference kernel on the NCHW tensors.
        const QVariantList in0{0};
        QTest::newRow("sb.QLinearConv channels-last x and y relu")
            << "QLinearConv"
            << "sb"
            << "u8" << L{2, 16, 12, 11} << L{24, 16, 3, 3}
            << QVariantMap{{"pads", pad1},
                           {"activation", "Relu"},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}}
            << true;
        QTest::newRow("sb.QLinearConv channels-last x stride 2 s8 batch 3")
            << "QLinearConv"
            << "sb"
            << "s8" << L{3, 8, 15, 15} << L{16, 8, 3, 3}
            << QVariantMap{{"pads", pad1},
                           {"strides", QVariantList{2, 2}},
                           {"channels_last_inputs", in0}}
            << true;
        QTest::newRow("sb.QLinearConv 1x1 channels-last y")
            << "QLinearConv"
            << "sb"
            << "u8" << L{2, 32, 7, 7} << L{64, 32, 1, 1} << QVariantMap{{"channels_last_output", 1}}
            << true;
        QTest::newRow("sb.QLinearConv depthwise channels-last")
            << "QLinearConv"
            << "sb"
            << "u8" << L{1, 16, 9, 9} << L{16, 1, 3, 3}
            << QVariantMap{{"pads", pad1},
                           {"group", 16},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}}
            << true;
        QTest::newRow("sb.QLinearAdd relu channels-last")
            << "QLinearAdd"
            << "sb"
            << "u8" << L{2, 8, 10, 9} << L{2, 8, 10, 9}
            << QVariantMap{{"activation", "Relu"},
                           {"channels_last_inputs", QVariantList{0, 3}},
                           {"channels_last_output", 1}}
            << false;
        QTest::newRow("sb.QLinearAdd mixed layouts")
            << "QLinearAdd"
            << "sb"
            << "u8" << L{2, 8, 10, 9} << L{2, 8, 10, 9}
            << QVariantMap{{"channels_last_inputs", in0}} << false;
        QTest::newRow("MaxPool u8 channels-last 40 channels")
            << "MaxPool"
            << ""
            << "u8" << L{2, 40, 17, 16} << L{}
            << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                           {"strides", QVariantList{2, 2}},
                           {"pads", pad1},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}}
            << false;
        QTest::newRow("MaxPool s8 channels-last 5 channels")
            << "MaxPool"
            << ""
            << "s8" << L{1, 5, 9, 8} << L{}
            << QVariantMap{{"kernel_shape", QVariantList{3, 3}},
                           {"pads", pad1},
                           {"channels_last_inputs", in0},
                           {"channels_last_output", 1}}
            << false;
        QTest::newRow("MaxPool s8 channels-last y only")
            << "MaxPool"
            << ""
            << "s8" << L{1, 3, 9, 8} << L{}
            << QVariantMap{{"kernel_shape", QVariantList{2, 2}}, {"channels_last_output", 1}}
            << false;
    }
    void int8KernelsMatchReference()
    {
        QFETCH(QString, op);
        QFETCH(QString, domain);
        QFETCH(QString, xType);
        QFETCH(QList<qlonglong>, xShape);
        QFETCH(QList<qlonglong>, wShape);
        QFETCH(QVariantMap, attrs);
        QFETCH(bool, oneDnn);
        std::mt19937 rng(17);
        const bool xSigned = xType == "s8";
        const ElementType xt = xSigned ? ElementType::Int8 : ElementType::UInt8;
        auto int8s = [&](ElementType t, Shape shape) {
            Tensor v = Tensor::empty(t, std::move(shape));
            std::uniform_int_distribution<int> d(t == ElementType::Int8 ? -128 : 0,
                                                 t == ElementType::Int8 ? 127 : 255);
            for (std::int64_t i = 0; i < v.elementCount(); ++i) {
                if (t == ElementType::Int8)
                    v.as<std::int8_t>()[i] = static_cast<std::int8_t>(d(rng));
                else
                    v.as<std::uint8_t>()[i] = static_cast<std::uint8_t>(d(rng));
            }
            return v;
        };
        auto scalar = [](ElementType t, double value) {
            Tensor v = Tensor::empty(t, {});
            if (t == ElementType::Float32)
                v.as<float>()[0] = static_cast<float>(value);
            else if (t == ElementType::Int8)
                v.as<std::int8_t>()[0] = static_cast<std::int8_t>(value);
            else
                v.as<std::uint8_t>()[0] = static_cast<std::uint8_t>(value);
            return v;
        };
        const Shape xs(xShape.begin(), xShape.end()), ws(wShape.begin(), wShape.end());
        Tensor x = int8s(xt, xs);
        if (op == "QuantizeLinear" || op == "MaxPool") {
            x = op == "MaxPool" ? int8s(xt, xs) : randomTensor(xs, 5);
            if (op == "QuantizeLinear")
                for (std::int64_t i = 0; i < x.elementCount(); ++i)
                    x.as<float>()[i] *= 3.0f; // past the int8 range too (saturation)
        }
        const double xZero = xSigned ? 3 : 128;
        std::vector<Tensor> constants; // inputs 1..
        if (op == "QuantizeLinear" || op == "DequantizeLinear") {
            constants = {scalar(ElementType::Float32, 0.0173), scalar(xt, xSigned ? -5 : 121)};
        } else if (op == "QLinearAdd") {
            constants = {scalar(ElementType::Float32, 0.02),
                         scalar(xt, xZero),
                         int8s(xt, ws),
                         scalar(ElementType::Float32, 0.031),
                         scalar(xt, 100),
                         scalar(ElementType::Float32, 0.04),
                         scalar(ElementType::UInt8, 7)};
        } else if (op != "MaxPool") {
            const bool conv = op == "QLinearConv";
            const bool transB = attrs.value("transB", 0).toInt() != 0;
            const std::int64_t channels = conv || transB ? ws[0] : ws[1];
            Tensor wScale = Tensor::empty(ElementType::Float32, {channels});
            Tensor bias = Tensor::empty(ElementType::Int32, {channels});
            std::uniform_real_distribution<float> sd(0.002f, 0.01f);
            std::uniform_int_distribution<int> bd(-3000, 3000);
            for (std::int64_t c = 0; c < channels; ++c) {
                wScale.as<float>()[c] = sd(rng);
                bias.as<std::int32_t>()[c] = bd(rng);
            }
            const ElementType yt = ElementType::UInt8;
            const double kSum = static_cast<double>(conv ? ws[1] * ws[2] * ws[3] : xs.back());
            // y_scale: +-2.5 standard deviations of the accumulator (centered
            // 8-bit operands have a standard deviation near 74) over the 8 bits.
            const double yScale = 0.05 * 0.006 * std::sqrt(kSum) * 74 * 74 * 2.5 / 128;
            constants = {scalar(ElementType::Float32, 0.05),
                         scalar(xt, xZero),
                         int8s(ElementType::Int8, ws),
                         wScale,
                         Tensor::zeros(ElementType::Int8, {channels}),
                         scalar(ElementType::Float32, yScale),
                         scalar(yt, 128)};
            if (op != "QGemm" || transB)
                constants.push_back(bias);
        }
        // Channels-last rows: which operands the node reads / writes NHWC.
        const ChannelsLastRow row = channelsLastRow(attrs);
        const std::set<std::int64_t> &channelsLastInputs = row.inputs;
        const bool channelsLastOutput = row.output;
        const QVariantMap &plainAttrs = row.plainAttrs;

        // One node: input 0 from the graph, the rest initializers (constants).
        auto makeGraph = [&](const QVariantMap &nodeAttrs, const std::vector<Tensor> &inputs) {
            return singleNode(op.toStdString(), domain.toStdString(), {x}, attributesOf(nodeAttrs),
                              inputs, 19);
        };
        auto plainGraph = makeGraph(plainAttrs, constants);
        std::vector<Tensor> laidOut = constants; // inputs 1.. as the node reads them
        for (std::int64_t i : channelsLastInputs)
            if (i > 0)
                laidOut[static_cast<std::size_t>(i - 1)] =
                    relayout(constants[static_cast<std::size_t>(i - 1)], true);
        auto g = makeGraph(attrs, laidOut);
        const Tensor xIn = channelsLastInputs.count(0) ? relayout(x, true) : x;

        // Runs `graph` twice (the first run plans) and returns the output
        // of the second (NCHW: the executor hands an output the node wrote
        // NHWC back planar).
        auto runGraph = [&](const std::shared_ptr<graph::Graph> &graph, const Tensor &input,
                            KernelVariant variant, int threads,
                            std::string *kernel) -> Result<Tensor> {
            CpuDevice device("cpu:0", threads, 0, kernels::defaultRegistry());
            ExecutorOptions options;
            options.variant = variant;
            options.fuse = false;
            SB_ASSIGN_OR_RETURN(auto executor, Executor::create(graph, device, options));
            RunOptions runOptions;
            runOptions.onNode = [&](const NodeEvent &e) {
                if (kernel)
                    *kernel = e.kernel ? e.kernel : "";
            };
            SB_ASSIGN_OR_RETURN(RunResult first, executor->run({{"in0", input}}, runOptions));
            SB_ASSIGN_OR_RETURN(RunResult second, executor->run({{"in0", input}}, runOptions));
            return second.outputs.at("out");
        };
        auto run = [&](KernelVariant variant, int threads, std::string *kernel) {
            return runGraph(g, xIn, variant, threads, kernel);
        };
        auto reference = runGraph(plainGraph, x, KernelVariant::Reference, 1, nullptr);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        if (!channelsLastInputs.empty() || channelsLastOutput) {
            // The reference kernel honours the layout: the same values.
            auto laidOutReference = run(KernelVariant::Reference, 1, nullptr);
            QVERIFY2(laidOutReference.ok(),
                     laidOutReference.ok() ? "" : laidOutReference.error().message.c_str());
            QCOMPARE(laidOutReference->shape(), reference->shape());
            QVERIFY(std::memcmp(laidOutReference->data(), reference->data(),
                                reference->byteSize()) == 0);
        }
        const bool exact = !oneDnn;
        // Serial limit: the default (these small problems run whole on the
        // calling thread) and 0 (cut across the threads, with a tail).
        for (const double serialLimit : {-1.0, 0.0})
            for (int threads : {1, 2}) {
                kernels::setSerialMacsLimit(serialLimit);
                std::string kernel;
                auto fast = run(KernelVariant::Fast, threads, &kernel);
                kernels::setSerialMacsLimit(-1.0);
                QVERIFY2(fast.ok(), fast.ok() ? "" : fast.error().message.c_str());
                QCOMPARE(fast->shape(), reference->shape());
                QCOMPARE(fast->type(), reference->type());
                std::int64_t differing = 0;
                double worst = 0;
                for (std::int64_t i = 0; i < fast->elementCount(); ++i) {
                    const double d =
                        std::fabs(fast->scalarAsDouble(i) - reference->scalarAsDouble(i));
                    differing += d > 0 ? 1 : 0;
                    worst = std::max(worst, d);
                }
                const std::string what = std::to_string(threads) + " threads, serial limit " +
                                         std::to_string(serialLimit) + ", kernel '" + kernel +
                                         "': " + std::to_string(differing) +
                                         " values differ, by up to " + std::to_string(worst);
                if (exact)
                    QVERIFY2(differing == 0, what.c_str());
                else
                    QVERIFY2(worst <= 1.0 && differing * 100 <= fast->elementCount(), what.c_str());
                // oneDNN's int8 kernels need VNNI to be exact (onednn.h); else the reference runs.
                const bool vnni = kernels::oneDnnDescription().find("vnni") != std::string::npos ||
                                  kernels::oneDnnDescription().find("bf16") != std::string::npos ||
                                  kernels::oneDnnDescription().find("amx") != std::string::npos;
                if (oneDnn && kernels::oneDnnAvailable())
                    QVERIFY2((kernel.rfind("oneDNN ", 0) == 0) == vnni, what.c_str());
                // Cut into parts only with the limit off, 2 threads and 2+ rows or images.
                if (oneDnn && kernels::oneDnnAvailable() && vnni) {
                    const bool cut = serialLimit == 0.0 && threads == 2 &&
                                     xs[0] * (xs.size() == 3 ? xs[1] : 1) > 1;
                    QVERIFY2((kernel.find(" parts)") != std::string::npos) == cut, what.c_str());
                }
            }
        // The outputs spread over the 8-bit range (the test would be weak otherwise).
        std::set<std::int64_t> distinct;
        for (std::int64_t i = 0; i < reference->elementCount(); ++i)
            distinct.insert(static_cast<std::int64_t>(reference->scalarAsDouble(i) * 1000));
        QVERIFY2(distinct.size() > 20, std::to_string(distinct.size()).c_str());
    }

    // SHARDBENCH_MAX_CPU_ISA caps our dispatch and oneDNN's (the ctest entry
    // test_kernels_avx2 runs this file with it set to avx2).
    void isaCapApplies()
    {
        const QByteArray cap = qgetenv("SHARDBENCH_MAX_CPU_ISA");
        if (cap.isEmpty()) {
            QCOMPARE(kernels::cpuIsa(), kernels::cpuIsaDetected());
            return;
        }
        if (cap.toLower() != "avx2" || kernels::cpuIsaDetected() < kernels::CpuIsa::Avx2)
            QSKIP("cap other than avx2, or a CPU without AVX2");
        QCOMPARE(kernels::cpuIsa(), kernels::CpuIsa::Avx2);
        QVERIFY(kernels::cpuIsaDescription().rfind("avx2", 0) == 0);
        if (kernels::oneDnnAvailable())
            QVERIFY2(kernels::oneDnnDescription().find("(avx2") != std::string::npos,
                     kernels::oneDnnDescription().c_str());
    }

    // The vectorised GELU / softmax / layer-norm rows (polynomial exp and erf
    // on AVX2 CPUs) over wide ranges, row tails and special values, against
    // the reference with each fast kernel's registered tolerance.
    void fastTranscendentalsMatchReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QString>("domain");
        QTest::addColumn<QList<qlonglong>>("shape");
        QTest::addColumn<double>("spread"); // inputs uniform in [-spread, spread)
        QTest::addColumn<bool>("specials"); // NaN, +-inf and an all -inf row
        QTest::newRow("Gelu wide") << "Gelu"
                                   << "sb" << QList<qlonglong>{4099} << 12.0 << false;
        QTest::newRow("Gelu specials") << "Gelu"
                                       << "sb" << QList<qlonglong>{64} << 3.0 << true;
        QTest::newRow("Softmax wide odd rows") << "Softmax"
                                               << "" << QList<qlonglong>{9, 37} << 40.0 << false;
        QTest::newRow("Softmax long rows") << "Softmax"
                                           << "" << QList<qlonglong>{3, 1000} << 5.0 << false;
        QTest::newRow("Softmax specials") << "Softmax"
                                          << "" << QList<qlonglong>{6, 19} << 3.0 << true;
        QTest::newRow("LayerNormalization tail") << "LayerNormalization"
                                                 << "" << QList<qlonglong>{7, 37} << 4.0 << false;
        QTest::newRow("LayerNormalization 256") << "LayerNormalization"
                                                << "" << QList<qlonglong>{5, 256} << 2.0 << false;
    }
    void fastTranscendentalsMatchReference()
    {
        QFETCH(QString, op);
        QFETCH(QString, domain);
        QFETCH(QList<qlonglong>, shape);
        QFETCH(double, spread);
        QFETCH(bool, specials);
        Shape dims(shape.begin(), shape.end());
        Tensor x = randomTensor(dims, 7);
        float *px = x.as<float>();
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            px[i] *= static_cast<float>(spread);
        const float inf = std::numeric_limits<float>::infinity();
        if (specials) {
            px[1] = std::numeric_limits<float>::quiet_NaN();
            px[2] = inf;
            px[3] = -inf;
            px[5] = -inf;
            if (dims.size() == 2) // one row of only -inf (NaN out), one with a single -inf
                for (std::int64_t j = 0; j < dims[1]; ++j)
                    px[2 * dims[1] + j] = -inf;
        }
        std::vector<Tensor> inputs = {x};
        if (op == "LayerNormalization") {
            inputs.push_back(randomTensor({dims.back()}, 8));
            inputs.push_back(randomTensor({dims.back()}, 9));
        }
        const auto &registry = kernels::defaultRegistry();
        const KernelInfo *fast = registry.findExact(op.toStdString(), domain.toStdString(),
                                                    DeviceKind::Cpu, KernelVariant::Fast);
        QVERIFY(fast);
        auto g = singleNode(op.toStdString(), domain.toStdString(), inputs, {});
        auto reference = runVariant(g, inputs, KernelVariant::Reference, 1);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        for (int threads : {1, 2}) {
            auto result = runVariant(g, inputs, KernelVariant::Fast, threads);
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            CompareResult cmp =
                compareTensors(*result, *reference, fast->tolerance.rtol, fast->tolerance.atol);
            QVERIFY2(cmp.ok, (std::to_string(threads) + " threads: " + cmp.message).c_str());
        }
    }

    // Transpose and Where: typed loops and contiguous runs must reproduce the
    // reference bit for bit (registered tolerance 0), including broadcasting.
    void fastDataMovementMatchesReference_data()
    {
        QTest::addColumn<QString>("op");
        QTest::addColumn<QList<qlonglong>>("shape");
        QTest::addColumn<QList<qlonglong>>("perm");      // Transpose; empty = reversed
        QTest::addColumn<QList<qlonglong>>("condShape"); // Where
        QTest::addColumn<QList<qlonglong>>("yShape");    // Where
        QTest::addColumn<bool>("int64");
        using L = QList<qlonglong>;
        QTest::newRow("Transpose heads")
            << "Transpose" << L{4, 64, 4, 64} << L{0, 2, 1, 3} << L{} << L{} << false;
        QTest::newRow("Transpose keys")
            << "Transpose" << L{4, 64, 4, 64} << L{0, 2, 3, 1} << L{} << L{} << false;
        QTest::newRow("Transpose reversed odd")
            << "Transpose" << L{2, 5, 3, 7} << L{} << L{} << L{} << false;
        QTest::newRow("Transpose int64 2d")
            << "Transpose" << L{33, 70} << L{1, 0} << L{} << L{} << true;
        QTest::newRow("Transpose identity")
            << "Transpose" << L{3, 4, 5} << L{0, 1, 2} << L{} << L{} << false;
        QTest::newRow("Where causal mask")
            << "Where" << L{4, 4, 64, 64} << L{} << L{1, 1, 64, 64} << L{} << false;
        QTest::newRow("Where row cond column y")
            << "Where" << L{3, 37} << L{} << L{37} << L{3, 1} << false;
        QTest::newRow("Where x broadcast")
            << "Where" << L{1, 9} << L{} << L{5, 9} << L{5, 9} << false;
    }
    void fastDataMovementMatchesReference()
    {
        QFETCH(QString, op);
        QFETCH(QList<qlonglong>, shape);
        QFETCH(QList<qlonglong>, perm);
        QFETCH(QList<qlonglong>, condShape);
        QFETCH(QList<qlonglong>, yShape);
        QFETCH(bool, int64);
        std::vector<Tensor> inputs;
        std::map<std::string, graph::Attribute> attributes;
        Tensor x = randomTensor(Shape(shape.begin(), shape.end()), 3);
        if (int64) {
            Tensor wide = Tensor::empty(ElementType::Int64, x.shape());
            for (std::int64_t i = 0; i < x.elementCount(); ++i)
                wide.as<std::int64_t>()[i] = static_cast<std::int64_t>(x.as<float>()[i] * 1e9);
            x = wide;
        } else {
            x.as<float>()[1] = std::numeric_limits<float>::quiet_NaN();
        }
        if (op == "Transpose") {
            inputs = {x};
            if (!perm.isEmpty())
                attributes["perm"] = ints(std::vector<std::int64_t>(perm.begin(), perm.end()));
        } else {
            Tensor cond =
                Tensor::empty(ElementType::Bool, Shape(condShape.begin(), condShape.end()));
            std::mt19937 rng(5);
            for (std::int64_t i = 0; i < cond.elementCount(); ++i)
                cond.as<std::uint8_t>()[i] = static_cast<std::uint8_t>(rng() % 2);
            Tensor y = yShape.isEmpty()
                           ? Tensor::fromVector<float>(ElementType::Float32, {},
                                                       {-std::numeric_limits<float>::infinity()})
                           : randomTensor(Shape(yShape.begin(), yShape.end()), 4);
            inputs = {cond, x, y};
        }
        const auto &registry = kernels::defaultRegistry();
        QVERIFY(registry.findExact(op.toStdString(), "", DeviceKind::Cpu, KernelVariant::Fast));
        auto g = singleNode(op.toStdString(), "", inputs, attributes);
        auto reference = runVariant(g, inputs, KernelVariant::Reference, 1);
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        for (int threads : {1, 2, 3}) {
            auto result = runVariant(g, inputs, KernelVariant::Fast, threads);
            QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
            CompareResult cmp = compareTensors(*result, *reference, 0, 0);
            QVERIFY2(cmp.ok, (std::to_string(threads) + " threads: " + cmp.message).c_str());
        }
    }

    void unsupportedIsItsOwnOutcome()
    {
        // An op nobody implements: creation works, supportsOp and run say why.
        auto g = singleNode("NoSuchOp", "", {randomTensor({2}, 1)}, {});
        CpuDevice device("cpu:0", 1, 0, kernels::defaultRegistry());
        Support support = device.supportsOp(g->node(0), *g);
        QVERIFY(!support.supported);
        QVERIFY(support.reason.find("NoSuchOp") != std::string::npos);
        auto executor = Executor::create(g, device, {});
        QVERIFY(executor.ok());
        auto run = (*executor)->run({{"in0", randomTensor({2}, 1)}});
        QVERIFY(!run.ok());
        QCOMPARE(run.error().code, ErrorCode::Unsupported);
        // A supported op with an element type it does not implement names the type.
        Tensor strings = Tensor::zeros(ElementType::Int64, {3});
        auto sqrt = singleNode("Sqrt", "", {strings}, {});
        auto e2 = Executor::create(sqrt, device, {});
        QVERIFY(e2.ok());
        auto r2 = (*e2)->run({{"in0", strings}});
        QVERIFY(!r2.ok());
        QCOMPARE(r2.error().code, ErrorCode::Unsupported);
        QVERIFY(r2.error().message.find("int64") != std::string::npos);
        // An attribute value it does not implement names the attribute.
        auto pad =
            singleNode("Pad", "",
                       {randomTensor({2, 2}, 1),
                        Tensor::fromVector<std::int64_t>(ElementType::Int64, {4}, {1, 1, 1, 1})},
                       {{"mode", text("wrap")}});
        auto e3 = Executor::create(pad, device, {});
        QVERIFY(e3.ok());
        auto r3 = (*e3)->run(
            {{"in0", randomTensor({2, 2}, 1)},
             {"in1", Tensor::fromVector<std::int64_t>(ElementType::Int64, {4}, {1, 1, 1, 1})}});
        QVERIFY(!r3.ok());
        QCOMPARE(r3.error().code, ErrorCode::Unsupported);
        QVERIFY(r3.error().message.find("wrap") != std::string::npos);
    }

    // sgemm's contract: beta = 0 ignores C's old contents, NaN included, on
    // the matrix-vector path (up to 4 rows) and the GEMM path alike; checked
    // against the definition, summed in double.
    void sgemmBetaZeroIgnoresOldOutput_data()
    {
        QTest::addColumn<int>("m");
        QTest::addColumn<bool>("transA");
        QTest::addColumn<bool>("transB");
        QTest::newRow("1 row") << 1 << false << false;
        QTest::newRow("3 rows transB") << 3 << false << true;
        QTest::newRow("4 rows transA") << 4 << true << false;
        QTest::newRow("9 rows (GEMM)") << 9 << false << true;
    }
    void sgemmBetaZeroIgnoresOldOutput()
    {
        QFETCH(int, m);
        QFETCH(bool, transA);
        QFETCH(bool, transB);
        const int n = 37, k = 53;
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n));
        for (float &v : a)
            v = dist(rng);
        for (float &v : b)
            v = dist(rng);
        std::vector<float> c(static_cast<std::size_t>(m * n),
                             std::numeric_limits<float>::quiet_NaN());
        sb::kernels::sgemm(transA, transB, m, n, k, 0.5f, a.data(), transA ? m : k, b.data(),
                           transB ? k : n, 0.0f, c.data(), n);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
                double sum = 0;
                for (int p = 0; p < k; ++p)
                    sum += double(transA ? a[p * m + i] : a[i * k + p]) *
                           double(transB ? b[j * k + p] : b[p * n + j]);
                QVERIFY2(std::abs(c[i * n + j] - 0.5 * sum) < 1e-4,
                         qPrintable(QString("C[%1][%2] = %3, expected %4")
                                        .arg(i)
                                        .arg(j)
                                        .arg(c[i * n + j])
                                        .arg(0.5 * sum)));
            }
    }

    void halfConversions()
    {
        for (float f :
             {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f, 0.333251953125f})
            QCOMPARE(halfToFloat(floatToHalf(f)), f);
        QCOMPARE(floatToHalf(1e6f), std::uint16_t(0x7c00));
    }
};

QTEST_GUILESS_MAIN(TestKernels)
#include "test_kernels.moc"
