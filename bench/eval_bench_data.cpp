// Data generator of bench/eval_bench for large row counts (numpy's savetxt
// writes ~30k rows/s; this writes millions): the same columns and
// distributions as eval_bench's Python generator (label, score, f0..f5, age,
// site; the current data drifts in f0, f3 and site), with its own random
// stream (std::mt19937_64), fields formatted with std::to_chars.
//
// Usage: eval_bench_data OUT.csv ROWS SEED SHIFT
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

int main(int argc, char **argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: eval_bench_data OUT.csv ROWS SEED SHIFT\n");
        return 2;
    }
    const std::string path = argv[1];
    const long long rows = std::atoll(argv[2]);
    const auto seed = static_cast<std::uint64_t>(std::atoll(argv[3]));
    const double shift = std::atof(argv[4]);
    std::FILE *out = std::fopen(path.c_str(), "wb");
    if (!out) {
        std::fprintf(stderr, "eval_bench_data: cannot write %s\n", path.c_str());
        return 1;
    }
    static const std::array<const char *, 6> sites = {"north", "south",   "east",
                                                      "west",  "central", "online"};
    const std::array<double, 6> p = shift != 0.0
                                        ? std::array<double, 6>{0.2, 0.2, 0.15, 0.15, 0.1, 0.2}
                                        : std::array<double, 6>{0.3, 0.25, 0.15, 0.15, 0.1, 0.05};
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> coin(0, 1), age(18, 89);
    std::normal_distribution<double> noise(0.0, 1.2), standard(0.0, 1.0);
    std::discrete_distribution<int> site(p.begin(), p.end());
    std::string buffer;
    buffer.reserve(1 << 22);
    char field[64];
    auto number = [&](double v) {
        auto [end, ec] = std::to_chars(field, field + sizeof field, v, std::chars_format::fixed, 6);
        (void)ec;
        buffer.append(field, static_cast<std::size_t>(end - field));
        buffer.push_back(',');
    };
    buffer = "label,score,f0,f1,f2,f3,f4,f5,age,site\n";
    for (long long r = 0; r < rows; ++r) {
        const int label = coin(rng);
        const double logit = (label * 2 - 1) * 1.3 + noise(rng);
        buffer.push_back(static_cast<char>('0' + label));
        buffer.push_back(',');
        number(1.0 / (1.0 + std::exp(-logit)));
        for (int i = 0; i < 6; ++i)
            number(((i == 0 || i == 3) ? shift : 0.0) + (1.0 + 0.1 * i) * standard(rng));
        auto [end, ec] = std::to_chars(field, field + sizeof field, age(rng));
        (void)ec;
        buffer.append(field, static_cast<std::size_t>(end - field));
        buffer.push_back(',');
        buffer.append(sites[static_cast<std::size_t>(site(rng))]);
        buffer.push_back('\n');
        if (buffer.size() > (std::size_t(1) << 22) - 256) {
            std::fwrite(buffer.data(), 1, buffer.size(), out);
            buffer.clear();
        }
    }
    std::fwrite(buffer.data(), 1, buffer.size(), out);
    if (std::fclose(out) != 0) {
        std::fprintf(stderr, "eval_bench_data: cannot write %s\n", path.c_str());
        return 1;
    }
    return 0;
}
