// Reference kernels detection and segmentation models bring: NonMaxSuppression,
// RoiAlign (avg/max, half_pixel and output_half_pixel), GridSample (bilinear,
// nearest, bicubic; zeros/border/reflection padding) and MaxUnpool. They
// follow ONNX Runtime's CPU kernels where the spec leaves details open
// (sampling points of RoiAlign, reflection of GridSample).
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb::kernels {

namespace {

// ---- NonMaxSuppression

struct Box
{
    double y1, x1, y2, x2; // y1 <= y2, x1 <= x2
};

Box boxAt(const Tensor &boxes, std::int64_t offset, bool centerPoint)
{
    double v[4];
    for (int i = 0; i < 4; ++i)
        v[i] = boxes.scalarAsDouble(offset + i);
    if (centerPoint) // [x_center, y_center, width, height]
        return {v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2};
    return {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
}

bool suppresses(const Box &a, const Box &b, double iouThreshold)
{
    double ix1 = std::max(a.x1, b.x1), iy1 = std::max(a.y1, b.y1);
    double ix2 = std::min(a.x2, b.x2), iy2 = std::min(a.y2, b.y2);
    double inter = std::max(0.0, ix2 - ix1) * std::max(0.0, iy2 - iy1);
    if (inter <= 0)
        return false;
    double areaA = (a.x2 - a.x1) * (a.y2 - a.y1);
    double areaB = (b.x2 - b.x1) * (b.y2 - b.y1);
    double uni = areaA + areaB - inter;
    if (areaA <= 0 || areaB <= 0 || uni <= 0)
        return false;
    return inter / uni > iouThreshold;
}

Status nonMaxSuppressionKernel(KernelContext &ctx)
{
    const Tensor &boxes = ctx.input(0);
    const Tensor &scores = ctx.input(1);
    if (!dispatch(boxes.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(boxes.type()));
    if (boxes.rank() != 3 || boxes.dim(2) != 4)
        return ctx.invalid("boxes must be [batches, boxes, 4], got " +
                           runtime::shapeToString(boxes.shape()));
    if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
        return ctx.invalid("scores " + runtime::shapeToString(scores.shape()) +
                           " do not match boxes " + runtime::shapeToString(boxes.shape()));
    std::int64_t maxPerClass =
        ctx.hasInput(2) && ctx.input(2).elementCount() > 0 ? ctx.input(2).scalarAsInt() : 0;
    double iouThreshold =
        ctx.hasInput(3) && ctx.input(3).elementCount() > 0 ? ctx.input(3).scalarAsDouble() : 0.0;
    bool hasScoreThreshold = ctx.hasInput(4) && ctx.input(4).elementCount() > 0;
    double scoreThreshold = hasScoreThreshold ? ctx.input(4).scalarAsDouble() : 0.0;
    if (iouThreshold < 0 || iouThreshold > 1)
        return ctx.invalid("iou_threshold must be in [0, 1]");
    bool centerPoint = ctx.node().intAttr("center_point_box", 0) != 0;
    const std::int64_t batches = boxes.dim(0), classes = scores.dim(1), count = boxes.dim(1);
    std::vector<std::int64_t> selected; // triples
    for (std::int64_t b = 0; b < batches && maxPerClass > 0; ++b)
        for (std::int64_t c = 0; c < classes; ++c) {
            std::vector<std::pair<double, std::int64_t>> candidates;
            for (std::int64_t i = 0; i < count; ++i) {
                double s = scores.scalarAsDouble((b * classes + c) * count + i);
                if (!hasScoreThreshold || s > scoreThreshold)
                    candidates.emplace_back(s, i);
            }
            std::stable_sort(candidates.begin(), candidates.end(),
                             [](const auto &x, const auto &y) { return x.first > y.first; });
            std::vector<Box> kept;
            for (const auto &[score, i] : candidates) {
                if (static_cast<std::int64_t>(kept.size()) >= maxPerClass)
                    break;
                Box box = boxAt(boxes, (b * count + i) * 4, centerPoint);
                bool drop = false;
                for (const Box &k : kept)
                    drop = drop || suppresses(k, box, iouThreshold);
                if (drop)
                    continue;
                kept.push_back(box);
                selected.insert(selected.end(), {b, c, i});
            }
        }
    auto rows = static_cast<std::int64_t>(selected.size() / 3);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {rows, 3}));
    std::copy(selected.begin(), selected.end(), out->as<std::int64_t>());
    return Status::success();
}

// ---- RoiAlign

Status roiAlignKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &rois = ctx.input(1);
    const Tensor &batchIndices = ctx.input(2);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() != 4)
        return ctx.invalid("X must be [N, C, H, W]");
    if (rois.rank() != 2 || rois.dim(1) != 4 || batchIndices.elementCount() != rois.dim(0))
        return ctx.invalid("rois must be [num_rois, 4] with one batch index per roi");
    const auto &node = ctx.node();
    std::string mode = node.stringAttr("mode", "avg");
    if (mode != "avg" && mode != "max")
        return ctx.invalid("mode '" + mode + "'");
    std::string transform = node.stringAttr("coordinate_transformation_mode",
                                            ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
    if (transform != "half_pixel" && transform != "output_half_pixel")
        return ctx.invalid("coordinate_transformation_mode '" + transform + "'");
    const bool halfPixel = transform == "half_pixel";
    const std::int64_t outH = node.intAttr("output_height", 1),
                       outW = node.intAttr("output_width", 1);
    const std::int64_t samplingRatio = node.intAttr("sampling_ratio", 0);
    const double spatialScale = node.floatAttr("spatial_scale", 1.0f);
    const std::int64_t n = x.dim(0), channels = x.dim(1), height = x.dim(2), width = x.dim(3);
    const std::int64_t numRois = rois.dim(0);
    SB_ASSIGN_OR_RETURN(Tensor * out,
                        ctx.allocateOutput(0, x.type(), {numRois, channels, outH, outW}));
    for (std::int64_t r = 0; r < numRois; ++r) {
        std::int64_t batch = batchIndices.scalarAsInt(r);
        if (batch < 0 || batch >= n)
            return ctx.invalid("batch index " + std::to_string(batch) + " out of range");
    }
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        const double offset = halfPixel ? 0.5 : 0.0;
        for (std::int64_t r = 0; r < numRois; ++r) {
            std::int64_t batch = batchIndices.scalarAsInt(r);
            double startW = rois.scalarAsDouble(r * 4) * spatialScale - offset;
            double startH = rois.scalarAsDouble(r * 4 + 1) * spatialScale - offset;
            double endW = rois.scalarAsDouble(r * 4 + 2) * spatialScale - offset;
            double endH = rois.scalarAsDouble(r * 4 + 3) * spatialScale - offset;
            double roiW = endW - startW, roiH = endH - startH;
            if (!halfPixel) {
                roiW = std::max(roiW, 1.0);
                roiH = std::max(roiH, 1.0);
            }
            double binH = roiH / static_cast<double>(outH), binW = roiW / static_cast<double>(outW);
            std::int64_t gridH = samplingRatio > 0
                                     ? samplingRatio
                                     : static_cast<std::int64_t>(std::ceil(roiH / outH));
            std::int64_t gridW = samplingRatio > 0
                                     ? samplingRatio
                                     : static_cast<std::int64_t>(std::ceil(roiW / outW));
            double countSamples = static_cast<double>(std::max<std::int64_t>(gridH * gridW, 1));
            for (std::int64_t c = 0; c < channels; ++c) {
                const T *plane = px + (batch * channels + c) * height * width;
                for (std::int64_t ph = 0; ph < outH; ++ph)
                    for (std::int64_t pw = 0; pw < outW; ++pw) {
                        double acc = 0;
                        bool first = true;
                        for (std::int64_t iy = 0; iy < gridH; ++iy)
                            for (std::int64_t ix = 0; ix < gridW; ++ix) {
                                double y = startH + static_cast<double>(ph) * binH +
                                           (static_cast<double>(iy) + 0.5) * binH /
                                               static_cast<double>(gridH);
                                double xx = startW + static_cast<double>(pw) * binW +
                                            (static_cast<double>(ix) + 0.5) * binW /
                                                static_cast<double>(gridW);
                                double v = 0;
                                if (!(y < -1.0 || y > static_cast<double>(height) || xx < -1.0 ||
                                      xx > static_cast<double>(width))) {
                                    y = std::max(y, 0.0);
                                    xx = std::max(xx, 0.0);
                                    auto yl = static_cast<std::int64_t>(y);
                                    auto xl = static_cast<std::int64_t>(xx);
                                    std::int64_t yh = yl + 1, xh = xl + 1;
                                    if (yl >= height - 1) {
                                        yh = yl = height - 1;
                                        y = static_cast<double>(yl);
                                    }
                                    if (xl >= width - 1) {
                                        xh = xl = width - 1;
                                        xx = static_cast<double>(xl);
                                    }
                                    double ly = y - static_cast<double>(yl),
                                           lx = xx - static_cast<double>(xl);
                                    double hy = 1 - ly, hx = 1 - lx;
                                    double v1 = hy * hx * plane[yl * width + xl];
                                    double v2 = hy * lx * plane[yl * width + xh];
                                    double v3 = ly * hx * plane[yh * width + xl];
                                    double v4 = ly * lx * plane[yh * width + xh];
                                    v = mode == "avg"
                                            ? v1 + v2 + v3 + v4
                                            : std::max(std::max(v1, v2), std::max(v3, v4));
                                }
                                if (mode == "avg")
                                    acc += v;
                                else
                                    acc = first ? v : std::max(acc, v);
                                first = false;
                            }
                        if (mode == "avg")
                            acc /= countSamples;
                        po[((r * channels + c) * outH + ph) * outW + pw] = static_cast<T>(acc);
                    }
            }
        }
    });
    return Status::success();
}

// ---- GridSample (4-D)

double reflect(double x, double lo, double hi)
{
    double range = hi - lo;
    if (range <= 0)
        return lo;
    if (x < lo) {
        double dx = lo - x;
        auto n = static_cast<std::int64_t>(dx / range);
        double r = dx - static_cast<double>(n) * range;
        return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi;
        auto n = static_cast<std::int64_t>(dx / range);
        double r = dx - static_cast<double>(n) * range;
        return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
}

Status gridSampleKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &grid = ctx.input(1);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() != 4)
        return ctx.unsupported("GridSample on rank " + std::to_string(x.rank()) +
                               " (only 4-D inputs)");
    if (grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2)
        return ctx.invalid("grid must be [N, H_out, W_out, 2]");
    const auto &node = ctx.node();
    std::string mode = node.stringAttr("mode", "bilinear");
    std::string padding = node.stringAttr("padding_mode", "zeros");
    const bool alignCorners = node.intAttr("align_corners", 0) != 0;
    if (mode == "linear")
        mode = "bilinear";
    if (mode == "cubic")
        mode = "bicubic";
    if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
        return ctx.invalid("mode '" + mode + "'");
    if (padding != "zeros" && padding != "border" && padding != "reflection")
        return ctx.invalid("padding_mode '" + padding + "'");
    const std::int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
    const std::int64_t outH = grid.dim(1), outW = grid.dim(2);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), {n, channels, outH, outW}));
    const double xMin = alignCorners ? 0 : -0.5, yMin = xMin;
    const double xMax = alignCorners ? static_cast<double>(w - 1) : static_cast<double>(w) - 0.5;
    const double yMax = alignCorners ? static_cast<double>(h - 1) : static_cast<double>(h) - 0.5;
    auto denormalize = [&](double v, std::int64_t len) {
        return alignCorners ? (v + 1) / 2 * static_cast<double>(len - 1)
                            : ((v + 1) * static_cast<double>(len) - 1) / 2;
    };
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        for (std::int64_t b = 0; b < n; ++b)
            for (std::int64_t c = 0; c < channels; ++c) {
                const T *plane = px + (b * channels + c) * h * w;
                auto pixel = [&](std::int64_t r, std::int64_t col) -> double {
                    if (padding == "zeros")
                        return (col >= 0 && col < w && r >= 0 && r < h) ? plane[r * w + col] : 0.0;
                    if (padding == "border") {
                        col = std::clamp<std::int64_t>(col, 0, w - 1);
                        r = std::clamp<std::int64_t>(r, 0, h - 1);
                    } else {
                        col = static_cast<std::int64_t>(
                            reflect(static_cast<double>(col), xMin, xMax));
                        r = static_cast<std::int64_t>(reflect(static_cast<double>(r), yMin, yMax));
                        col = std::clamp<std::int64_t>(col, 0, w - 1);
                        r = std::clamp<std::int64_t>(r, 0, h - 1);
                    }
                    return plane[r * w + col];
                };
                for (std::int64_t oy = 0; oy < outH; ++oy)
                    for (std::int64_t ox = 0; ox < outW; ++ox) {
                        std::int64_t g = ((b * outH + oy) * outW + ox) * 2;
                        double sx = denormalize(grid.scalarAsDouble(g), w);
                        double sy = denormalize(grid.scalarAsDouble(g + 1), h);
                        if (mode == "nearest") {
                            sx = std::nearbyint(sx);
                            sy = std::nearbyint(sy);
                        }
                        if (sx < xMin || sx > xMax || sy < yMin || sy > yMax) {
                            if (padding == "border") {
                                sx = std::clamp(sx, 0.0, static_cast<double>(w - 1));
                                sy = std::clamp(sy, 0.0, static_cast<double>(h - 1));
                            } else if (padding == "reflection") {
                                sx = reflect(sx, xMin, xMax);
                                sy = reflect(sy, yMin, yMax);
                            }
                        }
                        double v;
                        if (mode == "nearest") {
                            v = pixel(static_cast<std::int64_t>(sy), static_cast<std::int64_t>(sx));
                        } else if (mode == "bilinear") {
                            auto x1 = static_cast<std::int64_t>(std::floor(sx));
                            auto y1 = static_cast<std::int64_t>(std::floor(sy));
                            double dx1 = sx - static_cast<double>(x1), dx2 = 1 - dx1;
                            double dy1 = sy - static_cast<double>(y1), dy2 = 1 - dy1;
                            v = dy2 * (dx2 * pixel(y1, x1) + dx1 * pixel(y1, x1 + 1)) +
                                dy1 * (dx2 * pixel(y1 + 1, x1) + dx1 * pixel(y1 + 1, x1 + 1));
                        } else {
                            auto x0 = static_cast<std::int64_t>(std::floor(sx)) - 1;
                            auto y0 = static_cast<std::int64_t>(std::floor(sy)) - 1;
                            double cx[4], cy[4];
                            auto coeffs = [](double t, double *k) {
                                const double a = -0.75;
                                t = std::fabs(t);
                                k[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
                                k[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
                                k[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
                                k[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
                            };
                            coeffs(sx - static_cast<double>(x0) - 1, cx);
                            coeffs(sy - static_cast<double>(y0) - 1, cy);
                            v = 0;
                            for (int i = 0; i < 4; ++i) {
                                double row = 0;
                                for (int j = 0; j < 4; ++j)
                                    row += cx[j] * pixel(y0 + i, x0 + j);
                                v += cy[i] * row;
                            }
                        }
                        po[((b * channels + c) * outH + oy) * outW + ox] = static_cast<T>(v);
                    }
            }
    });
    return Status::success();
}

// ---- MaxUnpool

Status maxUnpoolKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    if (graph::elementSize(x.type()) == 0)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 3)
        return ctx.invalid("X must be [N, C, spatial...]");
    if (indices.shape() != x.shape())
        return ctx.invalid("indices shape differs from X");
    const std::size_t spatial = x.rank() - 2;
    // The indices address the shape the pooling attributes give; output_shape
    // (when present) places the same coordinates in a larger output.
    Shape pooledShape = {x.dim(0), x.dim(1)};
    auto kernel = ctx.node().intsAttr("kernel_shape");
    auto strides = ctx.node().intsAttr("strides");
    auto pads = ctx.node().intsAttr("pads");
    if (kernel.size() != spatial)
        return ctx.invalid("kernel_shape must have one value per spatial axis");
    for (std::size_t d = 0; d < spatial; ++d) {
        std::int64_t s = d < strides.size() ? strides[d] : 1;
        std::int64_t p = pads.size() == 2 * spatial ? pads[d] + pads[d + spatial] : 0;
        pooledShape.push_back((x.dim(d + 2) - 1) * s - p + kernel[d]);
    }
    Shape outShape = pooledShape;
    if (ctx.hasInput(2) && ctx.input(2).elementCount() > 0) {
        outShape = ctx.input(2).toInt64Vector();
        if (outShape.size() != x.rank())
            return ctx.invalid("output_shape has the wrong rank");
        for (std::size_t d = 0; d < x.rank(); ++d)
            if (outShape[d] < pooledShape[d])
                return ctx.invalid("output_shape is smaller than the unpooled shape " +
                                   runtime::shapeToString(pooledShape));
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    std::memset(out->data(), 0, out->byteSize());
    const std::size_t bytes = graph::elementSize(x.type());
    const std::int64_t total = runtime::shapeElementCount(pooledShape);
    const Shape outStrides = out->strides();
    for (std::int64_t i = 0; i < x.elementCount(); ++i) {
        std::int64_t flat = indices.scalarAsInt(i);
        if (flat < 0 || flat >= total)
            return ctx.invalid("index " + std::to_string(flat) + " outside the output");
        std::int64_t at = 0;
        for (std::size_t d = x.rank(); d-- > 0;) {
            at += (flat % pooledShape[d]) * outStrides[d];
            flat /= pooledShape[d];
        }
        std::memcpy(static_cast<char *>(out->data()) + at * static_cast<std::int64_t>(bytes),
                    static_cast<const char *>(x.data()) + i * static_cast<std::int64_t>(bytes),
                    bytes);
    }
    return Status::success();
}

} // namespace

void registerReferenceDetection(KernelRegistry &r)
{
    addReference(r, "NonMaxSuppression", nonMaxSuppressionKernel);
    addReference(r, "RoiAlign", roiAlignKernel);
    addReference(r, "GridSample", gridSampleKernel);
    addReference(r, "MaxUnpool", maxUnpoolKernel);
}

} // namespace sb::kernels
