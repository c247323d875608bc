/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of ngram.c: the grams of Chinese, Latin and mixed text, the
 * Dice similarity, the array literals; and the precision of the similarity
 * on appeals as citizens word them.
 *
 * The measurement: pairs of appeals labelled "same matter, reworded",
 * "different matters" and "hard" (different matters that share an address,
 * a question template, or all but one character).  At the threshold
 * SAME_THRESHOLD every rewording scores at or above it and every different
 * matter below it; the hard pairs score as high as rewordings, so text
 * similarity alone cannot tell them apart, and the test prints the figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ngram.h"

#include <stdio.h>
#include <string.h>

#define SAME_THRESHOLD 0.25
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))

struct pair {
    const char *a, *b;
};

/* The same matter, worded by two callers. */
static const struct pair reworded[] = {
    {"小区电梯已经停运三天，老人上下楼很困难", "我们小区的电梯停了三天了，老人没法上下楼"},
    {"小区旁工地每晚十一点后仍在施工，噪声很大，影响休息。",
     "晚上十一点以后旁边工地还在施工，噪音太大没法休息"},
    {"家里停水两天了，一直没有通知什么时候恢复供水", "停水已经两天，也没通知何时恢复供水"},
    {"楼下烧烤店油烟很大，熏得家里不能开窗", "楼下的烧烤店油烟太大了，家里窗户都不敢开"},
    {"路边井盖缺失，晚上行人容易掉下去，很危险", "人行道上有个井盖不见了，夜里行人很容易掉下去"},
    {"想咨询一下居住证怎么办理，需要带什么材料", "请问办理居住证需要准备哪些材料"},
    {"公司拖欠工资三个月不发，老板联系不上", "老板拖欠我们三个月工资，现在联系不上"},
    {"小区门口的路灯坏了一个多月，晚上很黑", "小区门口路灯已经坏了一个月了，晚上出行不安全"},
    {"在超市买到过期的牛奶，商家拒绝退换", "超市卖过期牛奶，要求退换商家拒绝"},
    {"公交车司机开车时一直打电话，很不安全", "举报公交车司机开车打电话，存在安全隐患"},
    {"医保卡在外地看病不能直接结算", "异地就医时医保卡无法直接结算"},
    {"楼上邻居装修每天早上七点就开始电钻，太吵了", "楼上装修早上七点就开电钻，吵得没法睡"},
    {"小区垃圾好几天没人清运，臭气熏天", "小区的垃圾堆了好几天没有清运，味道很臭"},
    {"学校门口早上交通拥堵，接送孩子很不方便", "早上学校门口堵车严重，接送孩子太难了"},
    {"网购的手机是翻新机，商家不给退货", "在网上买的手机是翻新的，商家拒绝退货"},
};

/* Different matters. */
static const struct pair different[] = {
    {"小区电梯已经停运三天，老人上下楼很困难", "小区门口的路灯坏了一个多月，晚上很黑"},
    {"家里停水两天了，一直没有通知什么时候恢复供水", "楼下烧烤店油烟很大，熏得家里不能开窗"},
    {"公司拖欠工资三个月不发，老板联系不上", "在超市买到过期的牛奶，商家拒绝退换"},
    {"公交车司机开车时一直打电话，很不安全", "路边井盖缺失，晚上行人容易掉下去，很危险"},
    {"小区旁工地每晚十一点后仍在施工，噪声很大，影响休息。",
     "小区电梯已经停运三天，老人上下楼很困难"},
    {"医保卡在外地看病不能直接结算", "社保卡丢失了想补办，去哪里办理"},
    {"学校门口早上交通拥堵，接送孩子很不方便", "学校食堂饭菜质量差，孩子经常吃不饱"},
    {"楼上邻居装修每天早上七点就开始电钻，太吵了", "楼上邻居家漏水，把我家天花板泡坏了"},
    {"小区垃圾好几天没人清运，臭气熏天", "小区停车位被外来车辆占用，业主没地方停"},
    {"网购的手机是翻新机，商家不给退货", "快递员不送货上门，直接放在驿站也不通知"},
    {"想咨询一下居住证怎么办理，需要带什么材料", "公园里有人遛狗不牵绳，吓到小孩"},
    {"路边井盖缺失，晚上行人容易掉下去，很危险", "菜市场的商贩缺斤少两，短秤现象严重"},
    {"公司拖欠工资三个月不发，老板联系不上", "出租车司机拒载还绕路，多收车费"},
    {"家里停水两天了，一直没有通知什么时候恢复供水", "道路两旁的树木长得太高，挡住了交通信号灯"},
    {"楼下烧烤店油烟很大，熏得家里不能开窗", "小区电梯已经停运三天，老人上下楼很困难"},
};

/* Different matters that bigrams cannot separate from rewordings. */
static const struct pair hard[] = {
    /* A noise complaint and a water outage at the same address. */
    {"体育西路1号小区旁工地夜间施工，噪声扰民", "体育西路1号小区停水两天了，没有人管"},
    /* The same question template about two documents. */
    {"想咨询一下居住证怎么办理，需要带什么材料", "想咨询一下护照怎么办理，需要带什么材料"},
    /* Water and electricity: one character apart. */
    {"家里停水两天了", "家里停电两天了"},
    /* The same lift, another matter. */
    {"小区电梯停运三天", "小区电梯里的广告屏声音太吵"},
};

/* --- helpers ---------------------------------------------------------------- */

static double similarity(const char *a, const char *b)
{
    static int32_t ga[NGRAM_MAX], gb[NGRAM_MAX];
    size_t na = ngram_grams(a, ga, NGRAM_MAX), nb = ngram_grams(b, gb, NGRAM_MAX);

    return ngram_similarity(ga, na, gb, nb);
}

/* How many of 'pairs' score at or above 'threshold'. */
static size_t above(const struct pair *pairs, size_t n, double threshold)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++)
        count += similarity(pairs[i].a, pairs[i].b) >= threshold;
    return count;
}

static int ascending_unique_positive(const int32_t *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (g[i] <= 0 || (i > 0 && g[i - 1] >= g[i]))
            return 0;
    return 1;
}

/* --- grams ------------------------------------------------------------------ */

static void chinese_text_gives_one_gram_per_pair(void **state)
{
    int32_t g[NGRAM_MAX];

    (void)state;
    /* 电梯 梯停 停运: three windows. */
    assert_int_equal(ngram_grams("电梯停运", g, NGRAM_MAX), 3);
    assert_true(ascending_unique_positive(g, 3));
    /* A repeated pair counts once: 停水 水停 停水. */
    assert_int_equal(ngram_grams("停水停水", g, NGRAM_MAX), 2);
}

static void punctuation_and_blanks_split_windows(void **state)
{
    int32_t a[NGRAM_MAX], b[NGRAM_MAX];

    (void)state;
    /* 电梯，停运: 电梯 and 停运, not 梯停. */
    size_t na = ngram_grams("电梯，停运", a, NGRAM_MAX);
    size_t nb = ngram_grams("电梯 停运。", b, NGRAM_MAX);
    assert_int_equal(na, 2);
    assert_int_equal(nb, 2);
    assert_memory_equal(a, b, na * sizeof(*a));
    assert_int_equal(ngram_grams("《电梯》【停运】", b, NGRAM_MAX), 2);
    assert_memory_equal(a, b, na * sizeof(*a));
}

static void lone_character_is_a_unigram(void **state)
{
    int32_t a[NGRAM_MAX], b[NGRAM_MAX];

    (void)state;
    assert_int_equal(ngram_grams("水", a, NGRAM_MAX), 1);
    assert_int_equal(ngram_grams("，水！", b, NGRAM_MAX), 1);
    assert_int_equal(a[0], b[0]);
    /* The unigram 水 is not the bigram of 水 with anything. */
    assert_int_equal(ngram_grams("水水", b, NGRAM_MAX), 1);
    assert_int_not_equal(a[0], b[0]);
}

static void latin_is_folded_and_fullwidth_is_ascii(void **state)
{
    int32_t a[NGRAM_MAX], b[NGRAM_MAX], c[NGRAM_MAX];

    (void)state;
    size_t na = ngram_grams("WiFi 12345", a, NGRAM_MAX);
    size_t nb = ngram_grams("wifi，１２３４５", b, NGRAM_MAX);
    size_t nc = ngram_grams("ＷＩＦＩ 12345", c, NGRAM_MAX);
    assert_int_equal(na, 3 + 4);
    assert_int_equal(nb, na);
    assert_int_equal(nc, na);
    assert_memory_equal(a, b, na * sizeof(*a));
    assert_memory_equal(a, c, na * sizeof(*a));
}

static void empty_and_separator_only_texts_have_no_grams(void **state)
{
    int32_t g[NGRAM_MAX];

    (void)state;
    assert_int_equal(ngram_grams("", g, NGRAM_MAX), 0);
    assert_int_equal(ngram_grams(" ，。！？…—\t\n😀", g, NGRAM_MAX), 0);
    assert_float_equal(ngram_similarity(g, 0, g, 0), 0.0, 1e-12);
}

static void invalid_utf8_splits_like_a_separator(void **state)
{
    int32_t a[NGRAM_MAX], b[NGRAM_MAX];

    (void)state;
    size_t na = ngram_grams("电梯\xff\xfe停运", a, NGRAM_MAX);
    size_t nb = ngram_grams("电梯 停运", b, NGRAM_MAX);
    assert_int_equal(na, 2);
    assert_int_equal(nb, 2);
    assert_memory_equal(a, b, na * sizeof(*a));
    /* A truncated character at the end is dropped, not read past. */
    assert_int_equal(ngram_grams("电梯\xe5\x81", a, NGRAM_MAX), 1);
}

static void long_text_keeps_the_smallest_hashes(void **state)
{
    static char text[4 * 3000 + 1];
    static int32_t all[NGRAM_MAX], few[16];
    size_t at = 0;

    (void)state;
    /* 3000 characters of the CJK block: far more pairs than NGRAM_MAX. */
    for (uint32_t cp = 0x4e00; cp < 0x4e00 + 3000; cp++) {
        text[at++] = (char)(0xe0 | cp >> 12);
        text[at++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        text[at++] = (char)(0x80 | (cp & 0x3f));
    }
    text[at] = '\0';
    assert_int_equal(ngram_grams(text, all, NGRAM_MAX), NGRAM_MAX);
    assert_true(ascending_unique_positive(all, NGRAM_MAX));
    /* A smaller buffer holds the start of the same sample. */
    assert_int_equal(ngram_grams(text, few, 16), 16);
    assert_memory_equal(few, all, sizeof(few));
    /* Asking for more than NGRAM_MAX still keeps NGRAM_MAX. */
    assert_int_equal(ngram_grams(text, all, NGRAM_MAX), NGRAM_MAX);
    assert_int_equal(ngram_grams(text, all, 0), 0);
}

/* --- similarity ------------------------------------------------------------- */

static void dice_coefficient(void **state)
{
    const int32_t a[] = {1, 2, 3, 4}, b[] = {3, 4, 5, 6}, c[] = {7};

    (void)state;
    assert_float_equal(ngram_similarity(a, 4, a, 4), 1.0, 1e-12);
    assert_float_equal(ngram_similarity(a, 4, b, 4), 0.5, 1e-12);
    assert_float_equal(ngram_similarity(a, 4, c, 1), 0.0, 1e-12);
    assert_float_equal(ngram_similarity(a, 4, c, 0), 0.0, 1e-12);
    assert_float_equal(ngram_similarity(b, 4, a, 4), ngram_similarity(a, 4, b, 4), 1e-12);
}

static void the_lift_example_scores_high_and_the_address_example_shows_the_limit(void **state)
{
    (void)state;
    /* 6 shared of 16 + 17 grams: 12/33. */
    assert_float_equal(similarity("小区电梯已经停运三天，老人上下楼很困难",
                                  "我们小区的电梯停了三天了，老人没法上下楼"),
                       12.0 / 33.0, 1e-9);
    /* Noise and water at the same address, with the address left out of
     * the content as intake keeps it in its own field: low. */
    assert_true(similarity("小区旁工地夜间施工，噪声扰民", "小区停水两天了，没有人管") <
                SAME_THRESHOLD);
    /* With the address written into both texts: as high as a rewording. */
    assert_true(similarity(hard[0].a, hard[0].b) >= SAME_THRESHOLD);
}

static void precision_on_appeals_as_citizens_word_them(void **state)
{
    size_t nr = COUNT(reworded), nd = COUNT(different), nh = COUNT(hard);

    (void)state;
    double lowest_same = 1.0, highest_different = 0.0;
    for (size_t i = 0; i < nr; i++) {
        double s = similarity(reworded[i].a, reworded[i].b);
        lowest_same = s < lowest_same ? s : lowest_same;
    }
    for (size_t i = 0; i < nd; i++) {
        double s = similarity(different[i].a, different[i].b);
        highest_different = s > highest_different ? s : highest_different;
    }
    size_t tp = above(reworded, nr, SAME_THRESHOLD);
    size_t fp_different = above(different, nd, SAME_THRESHOLD);
    size_t fp_hard = above(hard, nh, SAME_THRESHOLD);
    double precision_easy = (double)tp / (double)(tp + fp_different);
    double precision_all = (double)tp / (double)(tp + fp_different + fp_hard);
    double recall = (double)tp / (double)nr;

    printf("ngram: reworded %.3f and up, different matters %.3f at most\n", lowest_same,
           highest_different);
    printf("ngram: at %.2f: recall %.2f (%zu/%zu); precision %.2f without the hard pairs, "
           "%.2f with them (%zu of %zu hard pairs above)\n",
           SAME_THRESHOLD, recall, tp, nr, precision_easy, precision_all, fp_hard, nh);
    for (size_t i = 0; i < nh; i++)
        printf("ngram: hard pair %zu scores %.3f\n", i + 1, similarity(hard[i].a, hard[i].b));

    /* Rewordings and different matters are separated by a margin. */
    assert_true(lowest_same >= SAME_THRESHOLD);
    assert_true(highest_different < SAME_THRESHOLD - 0.05);
    assert_int_equal(tp, nr);
    assert_int_equal(fp_different, 0);
    /* The hard pairs are a known limit: at most this many false repeats. */
    assert_true(precision_all >= 0.75);
}

/* --- array literals --------------------------------------------------------- */

static void array_literal_round_trip(void **state)
{
    int32_t g[NGRAM_MAX], back[NGRAM_MAX];
    char text[NGRAM_MAX * 12 + 3];

    (void)state;
    size_t n = ngram_grams("小区电梯已经停运三天，老人上下楼很困难", g, NGRAM_MAX);
    assert_int_equal(ngram_array(g, n, text, sizeof(text)), 0);
    assert_int_equal(ngram_array_parse(text, back, NGRAM_MAX), (int)n);
    assert_memory_equal(g, back, n * sizeof(*g));

    assert_int_equal(ngram_array(g, 0, text, sizeof(text)), 0);
    assert_string_equal(text, "{}");
    assert_int_equal(ngram_array_parse("{}", back, NGRAM_MAX), 0);

    const int32_t small[] = {1, 22, 2147483647};
    assert_int_equal(ngram_array(small, 3, text, sizeof(text)), 0);
    assert_string_equal(text, "{1,22,2147483647}");
}

static void array_literal_that_does_not_fit(void **state)
{
    const int32_t small[] = {1, 22, 333};
    char text[32];

    (void)state;
    /* "{1,22,333}" needs 11 bytes with its NUL. */
    assert_int_equal(ngram_array(small, 3, text, 11), 0);
    assert_int_equal(ngram_array(small, 3, text, 10), -1);
    assert_int_equal(ngram_array(small, 3, text, 5), -1);
    assert_int_equal(ngram_array(small, 0, text, 2), -1);
}

static void array_literal_parse_is_strict(void **state)
{
    int32_t g[4];
    static const char *const bad[] = {
        "",    "{",     "}",     "1,2",   "{1,}",   "{,1}",          "{1,,2}", "{1;2}",
        "{a}", "{1} ",  "{1}x",  "{ 1}",  "{NULL}", "{2147483648}",  "{--1}",  "{1,2",
        "{-}", "{1,-}", "{{1}}", "[1,2]", "{1.5}",  "{99999999999}",
    };

    (void)state;
    for (size_t i = 0; i < COUNT(bad); i++)
        assert_int_equal(ngram_array_parse(bad[i], g, 4), -1);
    assert_int_equal(ngram_array_parse("{-5,0,7}", g, 4), 3);
    assert_int_equal(g[0], -5);
    assert_int_equal(g[2], 7);
    /* More values than room: the first 'cap' are kept. */
    assert_int_equal(ngram_array_parse("{1,2,3,4,5,6}", g, 4), 4);
    assert_int_equal(g[3], 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chinese_text_gives_one_gram_per_pair),
        cmocka_unit_test(punctuation_and_blanks_split_windows),
        cmocka_unit_test(lone_character_is_a_unigram),
        cmocka_unit_test(latin_is_folded_and_fullwidth_is_ascii),
        cmocka_unit_test(empty_and_separator_only_texts_have_no_grams),
        cmocka_unit_test(invalid_utf8_splits_like_a_separator),
        cmocka_unit_test(long_text_keeps_the_smallest_hashes),
        cmocka_unit_test(dice_coefficient),
        cmocka_unit_test(the_lift_example_scores_high_and_the_address_example_shows_the_limit),
        cmocka_unit_test(precision_on_appeals_as_citizens_word_them),
        cmocka_unit_test(array_literal_round_trip),
        cmocka_unit_test(array_literal_that_does_not_fit),
        cmocka_unit_test(array_literal_parse_is_strict),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
