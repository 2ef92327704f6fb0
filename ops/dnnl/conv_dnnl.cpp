// oneDNN convolution plumbing: descriptors, layout choice, reorders, scratchpad, cache.
// The math is in ops/conv.cpp and ops/reference/conv_reference.cpp; this file only arranges
// for oneDNN to compute the same three products fast.
#include "ops/dnnl/conv_dnnl.h"

#include <omp.h>

#include <functional>
#include <unordered_map>

#include "ops/dnnl/conv_gemm.h"
#include "ops/grouped_conv_cl.h"
#include "ops/dnnl/dnnl_context.h"
#include "ops/dnnl/primitive_cache.h"
#include "ops/dnnl/reorder_stats.h"
#include "ops/dnnl/weight_cache.h"
#include "ops/precision.h"
#include "tensor/kernels.h"
#include "tensor/memory_format.h"

namespace cardinal::onednn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;
constexpr auto bf16 = memory::data_type::bf16;

// One argument of a primitive: the layout our tensor has (user_md) and the one the primitive
// wants (prim_md). When they differ, `convert` reorders user -> prim (inputs) or prim -> user
// (outputs) through a temporary buffer.
struct ArgPlan {
    int arg = 0;
    bool output = false;
    memory::desc user_md, prim_md;
    bool reordered = false;
    dnnl::reorder convert;
};

struct ConvEntry {
    dnnl::primitive prim;
    std::vector<ArgPlan> args;  // in the order the pass passes its pointers
    memory::desc scratchpad_md;
    std::string impl;
    dnnl::convolution_forward::primitive_desc fwd_pd;  // forward entries: the backward hint
};

PrimitiveCache<ConvEntry>& conv_cache() {
    static PrimitiveCache<ConvEntry> cache;
    return cache;
}

// ---- memory descriptors of our tensors ----
// The activation layout our tensors have: NCHW, or NHWC when the network runs channels-last.
tag user_tag(const ConvGeometry& g) { return g.channels_last ? tag::nhwc : tag::nchw; }
// `dt`: float32, or bf16 for the activations of bf16 inference (ops/precision.h).
memory::desc src_md(const ConvGeometry& g, tag t, memory::data_type dt = f32) {
    return {{g.N, g.C, g.H, g.W}, dt, t};
}
memory::desc dst_md(const ConvGeometry& g, tag t, memory::data_type dt = f32) {
    return {{g.N, g.O, g.OH, g.OW}, dt, t};
}
memory::desc bias_md(const ConvGeometry& g) { return {{g.O}, f32, tag::x}; }
// Grouped weights are 5-D [G, O/G, C/G, KH, KW] (goihw), the same bytes as our [O, C/G, KH, KW].
memory::desc wei_md(const ConvGeometry& g, bool any, memory::data_type dt = f32) {
    if (g.G > 1) return {{g.G, g.og(), g.cg(), g.KH, g.KW}, dt, any ? tag::any : tag::goihw};
    return {{g.O, g.C, g.KH, g.KW}, dt, any ? tag::any : tag::oihw};
}

struct ConvDims {
    memory::dims strides, dilates, pad_l, pad_r;
};
ConvDims conv_dims(const ConvGeometry& g) {
    // oneDNN counts dilation from 0 (0 = dense kernel). Symmetric padding, as PyTorch: the
    // output size check divides with floor, so a right pad the last window never reaches is fine.
    return {{g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.ph, g.pw}, {g.ph, g.pw}};
}

// Activation layout the primitive is created with: ours, oneDNN's choice, or NHWC.
tag activation_tag(ConvLayout layout) {
    if (layout == ConvLayout::Blocked) return tag::any;
    return layout == ConvLayout::ChannelsLast ? tag::nhwc : tag::nchw;
}

dnnl::primitive_attr user_scratchpad() {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // the buffer comes from our allocator
    return attr;
}

ArgPlan plan_arg(int arg, bool output, const memory::desc& user, const memory::desc& prim) {
    ArgPlan p;
    p.arg = arg;
    p.output = output;
    p.user_md = user;
    p.prim_md = prim;
    p.reordered = user != prim;
    if (p.reordered) {
        auto& eng = cpu_engine();
        p.convert = output ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim, eng, user))
                           : dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, prim));
    }
    return p;
}

// ---- building entries, one per pass ----
// Post-ops of a fused inference forward (bit flags, part of the cache key).
constexpr int kPostResidual = 1;  // dst += residual (a binary add, before the ReLU)
constexpr int kPostRelu = 2;      // dst = max(dst, 0)

// The data types of a fused inference forward: what it computes in (its source and weights),
// and the types of our tensors behind its source, output and residual. A bf16 primitive reads
// a bf16 source as is and converts a float32 one.
struct FusedTypes {
    memory::data_type compute = f32, src = f32, dst = f32, residual = f32;
};

ConvEntry make_forward(const ConvGeometry& g, bool training, bool with_bias, ConvLayout layout,
                       int post = 0, const FusedTypes& types = {}) {
    const memory::data_type compute = types.compute;
    using namespace dnnl;
    const bool any = layout != ConvLayout::Plain;
    const tag act = activation_tag(layout);
    const ConvDims d = conv_dims(g);
    const auto prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
    const memory::desc src = src_md(g, act, compute), wei = wei_md(g, any, compute);
    const memory::desc dst = dst_md(g, act, types.dst);
    auto desc = with_bias ? convolution_forward::desc(prop, algorithm::convolution_direct, src,
                                                      wei, bias_md(g), dst, d.strides,
                                                      d.dilates, d.pad_l, d.pad_r)
                          : convolution_forward::desc(prop, algorithm::convolution_direct, src,
                                                      wei, dst, d.strides, d.dilates,
                                                      d.pad_l, d.pad_r);
    ConvEntry e;
    dnnl::primitive_attr attr = user_scratchpad();
    if (post) {
        dnnl::post_ops ops;
        if (post & kPostResidual)
            ops.append_binary(algorithm::binary_add, dst_md(g, user_tag(g), types.residual));
        if (post & kPostRelu) ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
        attr.set_post_ops(ops);
    }
    e.fwd_pd = convolution_forward::primitive_desc(desc, attr, cpu_engine());
    e.prim = convolution_forward(e.fwd_pd);
    e.impl = e.fwd_pd.impl_info_str();
    e.scratchpad_md = e.fwd_pd.scratchpad_desc();
    e.args.push_back(
        plan_arg(DNNL_ARG_SRC, false, src_md(g, user_tag(g), types.src), e.fwd_pd.src_desc()));
    e.args.push_back(plan_arg(DNNL_ARG_WEIGHTS, false, wei_md(g, false), e.fwd_pd.weights_desc()));
    if (with_bias) e.args.push_back(plan_arg(DNNL_ARG_BIAS, false, bias_md(g), bias_md(g)));
    e.args.push_back(
        plan_arg(DNNL_ARG_DST, true, dst_md(g, user_tag(g), types.dst), e.fwd_pd.dst_desc()));
    if (post & kPostResidual) {
        const memory::desc res = dst_md(g, user_tag(g), types.residual);
        e.args.push_back(
            plan_arg(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, false, res, res));
    }
    return e;
}

CacheKey make_key(const ConvGeometry& g, ConvPass pass, ConvLayout layout, bool training,
                  bool with_bias, int post = 0, const FusedTypes& types = {}) {
    // The thread count is part of the key: oneDNN's jit kernels split their work for the
    // OpenMP thread count seen at creation, and would keep running on that many threads.
    return {static_cast<int64_t>(pass), static_cast<int64_t>(layout), training, with_bias, post,
            static_cast<int64_t>(types.compute), static_cast<int64_t>(types.src),
            static_cast<int64_t>(types.dst), static_cast<int64_t>(types.residual),
            omp_get_max_threads(), g.channels_last,
            g.N, g.C, g.H, g.W, g.O, g.KH, g.KW, g.G, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
}

std::shared_ptr<const ConvEntry> forward_entry(const ConvGeometry& g, bool training,
                                               bool with_bias, ConvLayout layout) {
    return conv_cache().get(make_key(g, ConvPass::Forward, layout, training, with_bias),
                            [&] { return make_forward(g, training, with_bias, layout); });
}

ConvEntry make_backward_data(const ConvGeometry& g, ConvLayout layout) {
    using namespace dnnl;
    const bool any = layout != ConvLayout::Plain;
    const tag act = activation_tag(layout);
    const ConvDims d = conv_dims(g);
    auto hint = forward_entry(g, true, false, layout);
    convolution_backward_data::desc desc(algorithm::convolution_direct, src_md(g, act),
                                         wei_md(g, any), dst_md(g, act), d.strides, d.dilates,
                                         d.pad_l, d.pad_r);
    convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), cpu_engine(),
                                                 hint->fwd_pd);
    ConvEntry e;
    e.prim = convolution_backward_data(pd);
    e.impl = pd.impl_info_str();
    e.scratchpad_md = pd.scratchpad_desc();
    e.args.push_back(plan_arg(DNNL_ARG_DIFF_DST, false, dst_md(g, user_tag(g)), pd.diff_dst_desc()));
    e.args.push_back(plan_arg(DNNL_ARG_WEIGHTS, false, wei_md(g, false), pd.weights_desc()));
    e.args.push_back(plan_arg(DNNL_ARG_DIFF_SRC, true, src_md(g, user_tag(g)), pd.diff_src_desc()));
    return e;
}

ConvEntry make_backward_weights(const ConvGeometry& g, bool with_bias, ConvLayout layout) {
    using namespace dnnl;
    const bool any = layout != ConvLayout::Plain;
    const tag act = activation_tag(layout);
    const ConvDims d = conv_dims(g);
    auto hint = forward_entry(g, true, with_bias, layout);
    auto desc = with_bias
                    ? convolution_backward_weights::desc(algorithm::convolution_direct,
                                                         src_md(g, act), wei_md(g, any),
                                                         bias_md(g), dst_md(g, act), d.strides,
                                                         d.dilates, d.pad_l, d.pad_r)
                    : convolution_backward_weights::desc(algorithm::convolution_direct,
                                                         src_md(g, act), wei_md(g, any),
                                                         dst_md(g, act), d.strides, d.dilates,
                                                         d.pad_l, d.pad_r);
    convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), cpu_engine(),
                                                    hint->fwd_pd);
    ConvEntry e;
    e.prim = convolution_backward_weights(pd);
    e.impl = pd.impl_info_str();
    e.scratchpad_md = pd.scratchpad_desc();
    e.args.push_back(plan_arg(DNNL_ARG_DIFF_DST, false, dst_md(g, user_tag(g)), pd.diff_dst_desc()));
    e.args.push_back(plan_arg(DNNL_ARG_SRC, false, src_md(g, user_tag(g)), pd.src_desc()));
    e.args.push_back(
        plan_arg(DNNL_ARG_DIFF_WEIGHTS, true, wei_md(g, false), pd.diff_weights_desc()));
    if (with_bias) e.args.push_back(plan_arg(DNNL_ARG_DIFF_BIAS, true, bias_md(g), bias_md(g)));
    return e;
}

std::shared_ptr<const ConvEntry> entry_for(const ConvGeometry& g, ConvPass pass,
                                           ConvLayout layout, bool training, bool with_bias) {
    if (layout == ConvLayout::Auto) layout = choose_layout(g, pass);
    switch (pass) {
        case ConvPass::Forward: return forward_entry(g, training, with_bias, layout);
        case ConvPass::BackwardData:
            return conv_cache().get(make_key(g, pass, layout, true, false),
                                    [&] { return make_backward_data(g, layout); });
        case ConvPass::BackwardWeights:
            return conv_cache().get(make_key(g, pass, layout, true, with_bias),
                                    [&] { return make_backward_weights(g, with_bias, layout); });
    }
    fail<ValueError>("conv2d (oneDNN): unknown pass");
}

// A float32 buffer of at least `bytes` from the caching allocator.
Tensor byte_buffer(size_t bytes) {
    return empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::Float32);
}

// The last source this thread converted for an inference convolution (float32 -> bf16), so that
// the next convolution reading the same tensor reuses it: an SK block's paths all read the
// block input, and a bottleneck's conv1 and downsample read the same x. Valid while the source
// storage (id, version, offset) and the target layout are the same.
struct ConvertedSource {
    uint64_t id = 0, version = 0;
    int64_t offset = -1;
    memory::desc md;
    Tensor buffer;
    bool matches(const Tensor& t, const memory::desc& want) const {
        return buffer.defined() && t.storage()->id() == id && t.storage()->version() == version &&
               t.offset() == offset && md == want;
    }
};
thread_local ConvertedSource last_converted_source;

// The weight of an inference pass, whose copy in the primitive's layout the weight cache keeps
// (weight_cache.h): `values` itself, or, when `make` is set, what make() returns, kept under
// `values` as its key (the made weight is not kept beside its copy).
struct InferenceWeight {
    Tensor values;
    std::function<Tensor()> make;
    Tensor in(const memory::desc& user_md, const memory::desc& prim_md,
              const dnnl::reorder* convert) const {
        return make ? prepared_weights(values, make, user_md, prim_md, convert)
                    : prepared_weights(values, user_md, prim_md, *convert);
    }
};

// Runs an entry on user pointers given in the entry's argument order. `weights` (when the pass
// reads weights through the cache) is behind the DNNL_ARG_WEIGHTS pointer, which is unused when
// the weight is made on demand. `source` is the tensor behind DNNL_ARG_SRC when a converted copy
// of it may be shared with the next convolution (inference only).
void run(const ConvEntry& e, const std::vector<void*>& pointers,
         const InferenceWeight* weights = nullptr, const Tensor& source = Tensor()) {
    auto& eng = cpu_engine();
    auto& stream = cpu_stream();
    std::unordered_map<int, memory> args;
    std::vector<Tensor> buffers;  // temporaries live until the stream is done
    std::vector<std::pair<memory, memory>> outputs_to_convert;  // (primitive's, ours)
    for (size_t i = 0; i < e.args.size(); ++i) {
        const ArgPlan& p = e.args[i];
        if (p.arg == DNNL_ARG_WEIGHTS && weights && (p.reordered || weights->make)) {
            buffers.push_back(weights->in(p.user_md, p.prim_md, p.reordered ? &p.convert : nullptr));
            args.emplace(p.arg, memory(p.prim_md, eng, buffers.back().raw_data()));
            continue;
        }
        memory user(p.user_md, eng, pointers[i]);
        if (!p.reordered) {
            args.emplace(p.arg, user);
            continue;
        }
        if (p.arg == DNNL_ARG_SRC && source.defined()) {
            ConvertedSource& last = last_converted_source;
            if (!last.matches(source, p.prim_md)) {
                Tensor buffer = byte_buffer(p.prim_md.get_size());
                memory converted(p.prim_md, eng, buffer.raw_data());
                p.convert.execute(stream, user, converted);
                count_reorders();
                last = {source.storage()->id(), source.storage()->version(), source.offset(),
                        p.prim_md, buffer};
            }
            buffers.push_back(last.buffer);
            args.emplace(p.arg, memory(p.prim_md, eng, last.buffer.raw_data()));
            continue;
        }
        buffers.push_back(byte_buffer(p.prim_md.get_size()));
        memory tmp(p.prim_md, eng, buffers.back().raw_data());
        if (p.output) {
            outputs_to_convert.emplace_back(tmp, user);
        } else {
            p.convert.execute(stream, user, tmp);
            count_reorders();
        }
        args.emplace(p.arg, tmp);
    }
    if (size_t bytes = e.scratchpad_md.get_size()) {
        buffers.push_back(byte_buffer(bytes));
        args.emplace(DNNL_ARG_SCRATCHPAD, memory(e.scratchpad_md, eng, buffers.back().raw_data()));
    }
    e.prim.execute(stream, args);
    size_t k = 0;
    for (const ArgPlan& p : e.args)
        if (p.reordered && p.output) {
            auto& [tmp, user] = outputs_to_convert[k++];
            p.convert.execute(stream, tmp, user);
            count_reorders();
        }
    stream.wait();
}

MemoryFormat activation_format(const ConvGeometry& g) {
    return g.channels_last ? MemoryFormat::ChannelsLast : MemoryFormat::Contiguous;
}

// An activation (or its gradient) in the layout the geometry says; a copy only when it is not
// (a gradient that arrives NCHW into a channels-last network, a channel slice).
Tensor activation(const Tensor& t, const ConvGeometry& g) {
    return to_memory_format(t, activation_format(g));
}

void check_f32(const Tensor& t, const char* what) {
    check<DTypeError>(t.dtype() == DType::Float32, "conv2d (oneDNN): ", what,
                      " must be float32, got ", dtype_name(t.dtype()));
}

}  // namespace

namespace {

// A 1x1 unpadded convolution with a stride above 1.
bool strided_pointwise(const ConvGeometry& g) {
    return g.KH == 1 && g.KW == 1 && g.ph == 0 && g.pw == 0 && (g.sh > 1 || g.sw > 1);
}

}  // namespace

ConvLayout choose_layout(const ConvGeometry& g, ConvPass pass) {
    // Measured with bench/conv_bench.cpp (ResNeXt-50 shapes) and bench/small_conv_bench.cpp
    // (resnest_small at batch 128), reorders included (docs/performance.md):
    // - 1x1 convs on 1x1 maps (attention fcs): one [N, C] x [C, O] product per group (Gemm) beats
    //   any convolution kernel, which sees a tiny image 128 times.
    // - dense 1x1 stride 1 on large maps: oneDNN's gemm runs NCHW as fast as jit_1x1 runs
    //   nChw16c, so the two reorders (input in, output back) are pure loss. Our per-image sgemm
    //   (Gemm) matches or beats oneDNN's NCHW gemm forward and backward-data and needs no
    //   scratchpad; backward-weights stays on oneDNN's plain gemm. On small maps (7x7) the gemm
    //   is poorly shaped and blocked wins forward and backward-data.
    // - everything else (grouped, depthwise, dense 3x3 and larger): the blocked jit kernels are
    //   2-3x faster than gemm on NCHW even after the reorders, with three exceptions:
    //   * dense convs on very few input channels (the stems): blocked backward-data pads the
    //     channels to 16 and runs 1.5-15x slower than im2col + sgemm; with one input channel the
    //     same holds forward.
    //   * grouped backward-weights with few groups of < 8 input channels (ResNeSt's radix-2
    //     3x3 on 8 channels): oneDNN pads the channels to 16 and runs its avx2 kernel 2x slower
    //     than im2col + sgemm. With many groups (ResNeXt's 32) oneDNN picks gemm itself.
    // - channels-last activations: oneDNN's NHWC kernels (brgconv, jit with nhwc) run at the
    //   speed of the blocked ones with no activation reorder at all; only the weights are
    //   reordered. On 1x1 maps NHWC and NCHW are the same bytes, so the fcs keep Gemm.
    // - channels-last pointwise (1x1, stride 1) backward passes: the map is a row-major
    //   [N*H*W, C] matrix, so one sgemm per group does the pass (Gemm). Measured with 2 threads
    //   (docs/performance.md): backward-data 1.1-3x faster than oneDNN's jit_1x1 on every shape
    //   of resnest_small and ResNeXt-50; backward-weights 1.1-6x faster where the conv does not
    //   widen (C >= O: conv1, the downsample-free reductions) or is very wide (C*O >= 2^20), and
    //   up to 2x slower on widening small convs, which keep oneDNN. Forward keeps oneDNN: it is
    //   as fast and carries the inference post-ops.
    const bool pointwise = g.KH == 1 && g.KW == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 &&
                           g.pw == 0;
    // - channels-last grouped convs of 4 or 8 channels per group (ResNeXt layer1 and layer2):
    //   our kernels (Grouped) run every pass at 4 channels 1.6-3.7x faster than oneDNN, and
    //   backward-weights at 8 channels 1.1-3.2x faster (oneDNN falls back to gemm or avx2 there);
    //   oneDNN keeps forward and backward-data at 8 channels, where it is faster
    //   (docs/performance.md, "Grouped convolutions of 4 and 8 channels per group").
    if (g.channels_last) {
        if (grouped_conv_cl::supports(g) && (g.cg() == 4 || pass == ConvPass::BackwardWeights))
            return ConvLayout::Grouped;
        if (pointwise && g.H * g.W == 1) return ConvLayout::Gemm;
        if (pointwise && pass == ConvPass::BackwardData) return ConvLayout::Gemm;
        // - channels-last strided 1x1 convs (the downsample shortcuts) on fewer than 16 input
        //   channels: oneDNN 2.6's jit_1x1 backward-weights corrupts the heap at odd batch sizes
        //   on 2 threads (cardinal train --batch 7 --threads 2 aborted in free()). A 1x1
        //   unpadded conv of stride s is the pointwise conv of the input's every s-th pixel, so
        //   the Gemm path runs it on that subsample instead (strided_pointwise below).
        if (strided_pointwise(g) && pass == ConvPass::BackwardWeights && g.C < 16)
            return ConvLayout::Gemm;
        if (pointwise && pass == ConvPass::BackwardWeights && (g.C >= g.O || g.C * g.O >= (int64_t{1} << 20)))
            return ConvLayout::Gemm;
        return ConvLayout::ChannelsLast;
    }
    const bool dense_pointwise = g.KH == 1 && g.KW == 1 && g.G == 1;
    const bool small_map = g.OH * g.OW < 100;
    if (pointwise && g.H * g.W == 1) return ConvLayout::Gemm;
    if (g.G == 1 && g.C < 16 && !dense_pointwise) {
        if (pass == ConvPass::BackwardData || (pass == ConvPass::Forward && g.C == 1))
            return ConvLayout::Gemm;
        return ConvLayout::Blocked;
    }
    if (g.G > 1 && g.G <= 4 && g.cg() < 8 && pass == ConvPass::BackwardWeights)
        return ConvLayout::Gemm;
    if (!dense_pointwise) return ConvLayout::Blocked;
    if (pass == ConvPass::BackwardWeights) return ConvLayout::Plain;
    if (small_map) return ConvLayout::Blocked;
    return pointwise ? ConvLayout::Gemm : ConvLayout::Plain;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                      bool training, ConvLayout layout) {
    check_f32(x, "input");
    check_f32(w, "weight");
    if (b.defined()) check_f32(b, "bias");
    if (layout == ConvLayout::Auto) layout = choose_layout(g, ConvPass::Forward);
    Tensor xc = activation(x, g), wc = w.contiguous(), bc = b.defined() ? b.contiguous() : b;
    Tensor y = empty(g.output_shape(), DType::Float32, activation_format(g));
    if (layout == ConvLayout::Gemm) {
        gemm_conv::forward(xc.data<float>(), wc.data<float>(),
                           bc.defined() ? bc.data<float>() : nullptr, y.data<float>(), g);
        return y;
    }
    if (layout == ConvLayout::Grouped) {
        grouped_conv_cl::forward(xc.data<float>(), wc.data<float>(),
                                 bc.defined() ? bc.data<float>() : nullptr, y.data<float>(), g);
        return y;
    }
    auto e = entry_for(g, ConvPass::Forward, layout, training, b.defined());
    std::vector<void*> ptrs{xc.raw_data(), wc.raw_data()};
    if (b.defined()) ptrs.push_back(bc.raw_data());
    ptrs.push_back(y.raw_data());
    // Inference (no graph) reuses reordered weights; in training the optimizer changes them every
    // step, so a cached copy would only cost memory.
    const InferenceWeight cached{wc, {}};
    run(*e, ptrs, training ? nullptr : &cached);
    return y;
}

Tensor conv2d_backward_data(const Tensor& grad_y, const Tensor& w, const ConvGeometry& g,
                            ConvLayout layout) {
    check_f32(grad_y, "grad_output");
    check_f32(w, "weight");
    if (layout == ConvLayout::Auto) layout = choose_layout(g, ConvPass::BackwardData);
    Tensor gyc = activation(grad_y, g), wc = w.contiguous();
    Tensor gx = empty(g.input_shape(), DType::Float32, activation_format(g));
    if (layout == ConvLayout::Gemm || layout == ConvLayout::Grouped) {
        auto* kernel = layout == ConvLayout::Gemm ? gemm_conv::backward_data
                                                  : grouped_conv_cl::backward_data;
        kernel(gyc.data<float>(), wc.data<float>(), gx.data<float>(), g);
        return gx;
    }
    auto e = entry_for(g, ConvPass::BackwardData, layout, true, false);
    run(*e, {gyc.raw_data(), wc.raw_data(), gx.raw_data()});
    return gx;
}

std::pair<Tensor, Tensor> conv2d_backward_weights(const Tensor& grad_y, const Tensor& x,
                                                  const ConvGeometry& g, bool with_bias,
                                                  ConvLayout layout) {
    check_f32(grad_y, "grad_output");
    check_f32(x, "input");
    if (layout == ConvLayout::Auto) layout = choose_layout(g, ConvPass::BackwardWeights);
    Tensor gyc = activation(grad_y, g), xc = activation(x, g);
    Tensor gw = empty(g.weight_shape(), DType::Float32);
    Tensor gb = with_bias ? empty({g.O}, DType::Float32) : Tensor();
    if (layout == ConvLayout::Gemm && g.channels_last && strided_pointwise(g)) {
        // The pointwise conv of every sh-th row and sw-th column of x (choose_layout).
        const Tensor every = to_memory_format(
            xc.slice(2, 0, (g.OH - 1) * g.sh + 1, g.sh).slice(3, 0, (g.OW - 1) * g.sw + 1, g.sw),
            MemoryFormat::ChannelsLast);
        ConvGeometry unit = g;
        unit.H = g.OH, unit.W = g.OW, unit.sh = unit.sw = 1;
        gemm_conv::backward_weights(gyc.data<float>(), every.data<float>(), gw.data<float>(),
                                    with_bias ? gb.data<float>() : nullptr, unit);
        return {gw, gb};
    }
    if (layout == ConvLayout::Gemm || layout == ConvLayout::Grouped) {
        auto* kernel = layout == ConvLayout::Gemm ? gemm_conv::backward_weights
                                                  : grouped_conv_cl::backward_weights;
        kernel(gyc.data<float>(), xc.data<float>(), gw.data<float>(),
               with_bias ? gb.data<float>() : nullptr, g);
        return {gw, gb};
    }
    auto e = entry_for(g, ConvPass::BackwardWeights, layout, true, with_bias);
    std::vector<void*> ptrs{gyc.raw_data(), xc.raw_data(), gw.raw_data()};
    if (with_bias) ptrs.push_back(gb.raw_data());
    run(*e, ptrs);
    return {gw, gb};
}

namespace {

memory::data_type dnnl_type(const Tensor& t) { return t.dtype() == DType::BFloat16 ? bf16 : f32; }

void check_activation_type(const Tensor& t, const char* what) {
    check<DTypeError>(t.dtype() == DType::Float32 || t.dtype() == DType::BFloat16,
                      "conv2d (fused): ", what, " must be float32 or bfloat16, got ",
                      dtype_name(t.dtype()));
}

Tensor forward_fused(const Tensor& x, const InferenceWeight& w, const Tensor& b,
                     const ConvGeometry& g, const Tensor& residual, bool relu) {
    check_activation_type(x, "input");
    if (b.defined()) check_f32(b, "bias");
    if (residual.defined()) {
        check_activation_type(residual, "residual");
        check<ShapeError>(residual.shape() == g.output_shape(), "conv2d (fused): residual ",
                          describe(residual), " does not match the output ",
                          shape_str(g.output_shape()));
    }
    const bool bf16_compute = conv_precision() == ConvPrecision::BFloat16;
    // Our grouped and sgemm kernels are float32 only: bf16 runs (or bf16 tensors) keep oneDNN.
    const bool any_bf16 = bf16_compute || x.dtype() == DType::BFloat16 ||
                          (residual.defined() && residual.dtype() == DType::BFloat16);
    ConvLayout layout = choose_layout(g, ConvPass::Forward);
    if ((layout == ConvLayout::Grouped || layout == ConvLayout::Gemm) && any_bf16)
        layout = g.channels_last ? ConvLayout::ChannelsLast : ConvLayout::Blocked;
    if (layout == ConvLayout::Grouped) {  // the post-ops in the kernel's store
        const Tensor plain = w.make ? w.in(wei_md(g, false), wei_md(g, false), nullptr) : w.values;
        const Tensor wc = plain.contiguous(), xc = activation(x, g);
        const Tensor bc = b.defined() ? b.contiguous() : b;
        const Tensor rc = residual.defined() ? activation(residual, g) : residual;
        Tensor y = empty(g.output_shape(), DType::Float32, activation_format(g));
        grouped_conv_cl::forward(xc.data<float>(), wc.data<float>(),
                                 bc.defined() ? bc.data<float>() : nullptr, y.data<float>(), g,
                                 rc.defined() ? rc.data<float>() : nullptr, relu);
        return y;
    }
    if (layout == ConvLayout::Gemm) {  // our sgemm path has no post-ops: apply them after
        const Tensor plain = w.make ? w.in(wei_md(g, false), wei_md(g, false), nullptr) : w.values;
        Tensor y = conv2d_forward(x, plain.view(g.weight_shape()), b, g, false, layout);
        if (residual.defined()) kernels::add_(y, residual);
        if (relu) y = kernels::relu(y);
        return y;
    }
    const int post = (residual.defined() ? kPostResidual : 0) | (relu ? kPostRelu : 0);
    // A bf16 run writes bf16: the activations stay bf16 up to the next convolution (precision.h).
    FusedTypes types;
    types.compute = types.dst = bf16_compute ? bf16 : f32;
    types.src = dnnl_type(x);
    if (residual.defined()) types.residual = dnnl_type(residual);
    auto e = conv_cache().get(
        make_key(g, ConvPass::Forward, layout, false, b.defined(), post, types),
        [&] { return make_forward(g, false, b.defined(), layout, post, types); });
    Tensor xc = activation(x, g), bc = b.defined() ? b.contiguous() : b;
    Tensor rc = residual.defined() ? activation(residual, g) : residual;
    Tensor y = empty(g.output_shape(), bf16_compute ? DType::BFloat16 : DType::Float32,
                     activation_format(g));
    std::vector<void*> ptrs{xc.raw_data(), w.make ? nullptr : w.values.raw_data()};
    if (b.defined()) ptrs.push_back(bc.raw_data());
    ptrs.push_back(y.raw_data());
    if (rc.defined()) ptrs.push_back(rc.raw_data());
    // A bf16 primitive converts a float32 source; the next convolution on the same x reuses it.
    run(*e, ptrs, &w, types.compute == bf16 && types.src == f32 ? xc : Tensor());
    return y;
}

}  // namespace

Tensor conv2d_forward_fused(const Tensor& x, const Tensor& w, const Tensor& b,
                           const ConvGeometry& g, const Tensor& residual, bool relu) {
    check_f32(w, "weight");
    return forward_fused(x, InferenceWeight{w.contiguous(), {}}, b, g, residual, relu);
}

Tensor conv2d_forward_fused(const Tensor& weight_key, const std::function<Tensor()>& make_weight,
                           const Tensor& x, const Tensor& b, const ConvGeometry& g,
                           const Tensor& residual, bool relu) {
    return forward_fused(x, InferenceWeight{weight_key, make_weight}, b, g, residual, relu);
}

std::string conv_impl_info(const ConvGeometry& g, ConvPass pass, ConvLayout layout) {
    if (layout == ConvLayout::Auto) layout = choose_layout(g, pass);
    if (layout == ConvLayout::Gemm) return "cardinal:im2col+sgemm";
    if (layout == ConvLayout::Grouped) return "cardinal:grouped_conv_cl";
    return entry_for(g, pass, layout, true, false)->impl;
}

void clear_conv_cache() { conv_cache().clear(); }

}  // namespace cardinal::onednn
