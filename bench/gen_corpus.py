#!/usr/bin/env python3
"""gen_corpus.py -- a deterministic corpus of Chinese medical-device product
pages for bench-analyze (see bench/README.md).

Every page is a full e-commerce product page of 100-250 KB: a head with big
inline CSS and scripts, top bar, search box, category menu, breadcrumbs,
gallery, price/promotion/SKU block, recommendation blocks, a parameter table
(or <dl> / <li> list), a long detail text, reviews, after-sales text, an
embedded `window.__INIT_DATA__` state blob, JSON-LD, <noscript> and a footer
with licence numbers. Listings are for medical devices (contact lenses and
coloured lenses, hearing aids, glucometers, masks, thermometers, blood-pressure
monitors, oxygen concentrators, therapy devices, cold patches, dressings, RF
beauty devices, nebulisers). Some pages make prohibited claims (often spelled
evasively), some show registration numbers (valid, malformed or legacy), some
show the mandatory warnings and some do not. Claims and numbers also sit in
places that are not visible text (scripts, JSON, comments, <noscript>, alt and
title attributes, meta tags). Shops, brands and people are invented.

By default 20% of the pages are GBK (declared in a <meta> tag), the rest
UTF-8. Output, under --out:
  pages/NNNN-utf8.html, pages/NNNN-gbk.html
  manifest.json   parameters, totals, and per page: file, charset, bytes,
                  device, and what the generator planted (claims, number
                  kind, warnings)
The output is a pure function of (--seed, --pages, --gbk-share): the same
arguments give byte-identical files. Python 3 standard library only.
"""
import argparse
import codecs
import hashlib
import html
import json
import os
import random
import sys

MIN_BYTES = 102400  # 100 KiB
MAX_BYTES = 250000  # 250 kB (also below 250 KiB)

# ---------------------------------------------------------------------------
# vocabulary (invented brands and shops; every character is GBK-encodable
# except the zero-width ones, which GBK pages drop)
# ---------------------------------------------------------------------------

# key: (category word, class, products, registration category code, warning)
DEVICES = {
    "lens": ("隐形眼镜", 3, ["透明隐形眼镜日抛30片装", "硅水凝胶隐形眼镜月抛6片",
                         "彩色美瞳半年抛2片", "大直径美瞳日抛10片", "高含水隐形眼镜双周抛",
                         "近视彩瞳季抛1片装"], "16", "lens"),
    "care": ("隐形眼镜护理液", 3, ["多功能护理液360ml", "双氧护理液套装",
                              "美瞳专用护理液120ml"], "16", "lens"),
    "hear": ("助听器", 2, ["耳背式数字助听器", "隐形耳道式助听器", "充电款降噪助听器",
                        "老年人双耳助听器", "骨传导助听器"], "19", "hear"),
    "gluc": ("血糖仪", 2, ["家用免调码血糖仪", "血糖仪+50片试纸套装", "语音播报血糖仪",
                        "血糖试纸100片"], "22", "retail"),
    "mask": ("医用口罩", 2, ["一次性使用医用口罩50只", "医用外科口罩独立包装",
                         "医用防护口罩N95级", "儿童医用口罩卡通款"], "14", "retail"),
    "thermo": ("体温计", 2, ["电子体温计软头款", "红外额温枪", "婴儿耳温枪",
                          "腋下电子体温计"], "07", "retail"),
    "bp": ("血压计", 2, ["上臂式电子血压计", "手腕式血压计", "语音全自动血压计"],
           "07", "retail"),
    "oxy": ("制氧机", 2, ["家用制氧机3L", "医用分子筛制氧机5L", "便携式制氧机带雾化"],
            "08", "retail"),
    "neb": ("雾化器", 2, ["儿童压缩式雾化器", "静音网式雾化器", "家用医用雾化机"],
            "08", "retail"),
    "phys": ("理疗仪", 2, ["中频电疗理疗仪", "颈椎低频脉冲治疗仪", "远红外理疗灯",
                        "腰椎磁疗理疗仪"], "09", "retail"),
    "cold": ("冷敷贴", 1, ["医用冷敷贴5贴装", "冷敷凝胶眼罩", "物理退热贴儿童款"],
             "09", "retail"),
    "dress": ("敷贴", 2, ["医用创面敷贴", "水胶体敷料10片", "术后修护敷贴"],
              "14", "retail"),
    "rf": ("射频美容仪", 3, ["家用射频美容仪", "射频紧致提拉仪", "多极射频导入仪"],
           "09", "retail"),
}
DEVICE_KEYS = sorted(DEVICES)

BRANDS = ["澄视", "朗瞳", "眸语", "听悦", "声和", "聆安", "糖准", "测康", "稳益",
          "安颐", "护宁", "禾润", "舒冉", "晴岚", "佑康", "清晏", "颐享", "柏康",
          "沐光", "宁远", "芯测", "诺和美", "医朗", "悦颜"]
SHOP_KINDS = ["官方旗舰店", "医疗器械专营店", "大药房旗舰店", "健康护理专营店",
              "眼镜旗舰店", "康复器械专卖店"]
SITES = ["优康健康商城", "百草医疗网", "安途医药商城", "乐康到家"]
CITIES = ["广州", "深圳", "东莞", "苏州", "无锡", "杭州", "宁波", "南京", "厦门",
          "成都", "武汉", "长沙", "郑州", "济南", "合肥"]
PROV = ["粤", "苏", "浙", "鲁", "闽", "川", "鄂", "湘", "豫", "皖", "京", "沪"]
CROWDS = ["中老年人", "上班族", "学生党", "宝妈", "术后人群", "糖友", "听力下降的老人",
          "近视人群", "敏感肌人群", "长期伏案的人"]
FEATURES = ["轻薄透气", "高透氧", "低敏配方", "智能降噪", "一键测量", "大屏背光",
            "语音播报", "长续航", "静音设计", "柔软亲肤", "防雾防水", "精准传感",
            "人体工学", "可调档位", "便携收纳", "恒温控制"]
NAMES = ["小*鱼", "j***8", "爱吃***", "阿**宝", "q***n", "晴***天", "匿名买家",
         "老***张", "w***7", "木***子", "一**风"]

# Claims a regulator flags (C1 cure/efficacy, C2 rates, C3 safety, C4
# absolutes, C5 comparison, C6 endorsement, C7 inducement).
CLAIMS = ["根治", "彻底治愈", "永不复发", "药到病除", "立竿见影", "一次见效", "三天见效",
          "100%有效", "保证有效", "疗效显著", "治愈率达95%", "总有效率高达98.6%",
          "97%的患者", "无副作用", "零风险", "绝对安全", "纯天然无刺激", "国家级",
          "全网销量第一", "最安全", "第一品牌", "比普通血压计更精准", "告别吃药",
          "替代手术", "三甲医院同款", "专家推荐", "医生都在用", "患者见证",
          "无效退款", "家庭必备", "恢复视力", "摘掉眼镜", "降血糖", "活血化瘀"]
# Negated or fixed non-claims that must not count.
NON_CLAIMS = ["本品不能根治疾病", "不能代替药物治疗", "无法保证治愈", "不是特效药",
              "第一类医疗器械", "最终解释权归本店所有", "治愈系配色", "第一次使用请先阅读说明书"]
CLAIM_LINES = ["{brand}{cat}{claim}，{crowd}用了都说好！",
               "坚持使用两个疗程即可{claim}，{claim2}。",
               "【店长推荐】{claim}，{claim2}，放心购买。",
               "很多{crowd}反馈{claim}，真实有效。",
               "{claim}！{brand}只做良心产品。"]

WARN_LENS = "配戴本产品，应由眼视光专业人士进行验配"
WARN_HEAR = ("验配助听器前应经过专业的检查及听力测试，并在助听器验配师调试并试听试戴"
             "和验配师指导下使用")
WARN_RETAIL = "购买和使用前请仔细阅读产品说明书或者在医务人员的指导下购买和使用"
WARN_CONTRA = "禁忌内容或者注意事项详见说明书"
WARN_WEAK = "请在专业验配人员的指导下购买和使用"

SENTENCES = [
    "{brand}{prod}采用{feat}设计，{feat2}，适合{crowd}在家日常使用。",
    "本店{prod}均为品牌授权正品，支持扫码验真，{city}仓下午四点前下单当天发出。",
    "规格：{n}只/盒，生产日期见包装，有效期{months}个月，请存放于阴凉干燥处。",
    "产品执行标准YY/T {n4}-{year}，由{city}{brand}医疗器械有限公司生产。",
    "温馨提示：{cat}属于医疗器械，请按说明书使用，如出现不适请停止使用并咨询医生。",
    "店铺活动：满{n}元减{n2}元，两件九折，会员积分可抵现金。",
    "{brand}专注{cat}研发{n2}年，工厂通过ISO13485质量管理体系认证，出厂前逐台检验。",
    "包装清单：主机×1、说明书×1、合格证×1、保修卡×1、收纳包×1。",
    "售后说明：签收后{n2}天内非人为质量问题包换，整机保修{months}个月。",
    "{prod}核心元件由{city}工厂自主生产，经过{n}道工序、{n2}项出厂检测。",
    "使用方法：洗净双手后取出{cat}，按图示步骤操作，每次使用不超过{n2}分钟。",
    "注意事项：皮肤破损处勿用；{crowd}请在医生指导下使用；出现红肿请立即停用。",
    "客服在线时间为每天八点至二十二点，节假日不休，如有疑问请联系在线客服。",
    "与上一代产品相比，{brand}{prod}的{feat}表现更稳定，测量偏差控制在{small}%以内。",
    "产品名称：{prod}；型号：{model}；产地：{city}；适用人群：{crowd}。",
    "本品已投保产品质量责任险，发票随货寄出，支持七天无理由退换。",
    "物流说明：默认发{express}快递，偏远地区需补运费，下单备注可指定快递。",
    "{crowd}选购{cat}时要看清注册证编号和生产企业，认准正规渠道购买。",
]
REVIEWS = [
    "给家里{crowd}买的，{feat}，包装很严实，物流第二天就到了。",
    "第{n2}次回购了，{brand}的{cat}用着放心，客服也很耐心。",
    "东西不错，{feat}，就是说明书字有点小，老人看着费劲。",
    "和实体店一样的货，价格便宜不少，已经推荐给同事了。",
    "刚收到还没用，看做工挺好，用一段时间再来追评。",
]
HOT = ["医用口罩", "隐形眼镜", "美瞳", "助听器", "血糖仪", "体温计", "血压计",
       "冷敷贴", "理疗仪", "制氧机", "雾化器", "护理液", "轮椅", "创可贴"]
MENU = [("家用器械", ["血压计", "血糖仪", "体温计", "制氧机", "雾化器", "理疗仪"]),
        ("眼部护理", ["日抛", "月抛", "半年抛", "美瞳", "护理液", "润眼液"]),
        ("防护用品", ["医用口罩", "防护服", "消毒液", "酒精棉片", "退热贴"]),
        ("康复辅具", ["助听器", "轮椅", "拐杖", "护腰", "颈托", "助行器"]),
        ("美容仪器", ["射频美容仪", "冷敷贴", "敷贴", "导入仪"])]
TOPBAR = ["你好，请登录", "免费注册", "我的订单", "我的收藏", "购物车", "手机版",
          "商家入驻", "帮助中心", "客户服务", "网站导航"]
TRAD = {"根治": "根治", "治愈": "治癒", "无副作用": "無副作用", "医院同款": "醫院同款",
        "专家推荐": "專家推薦", "疗效显著": "療效顯著", "隐形眼镜": "隱形眼鏡",
        "助听器": "助聽器", "绝对安全": "絕對安全", "医生": "毉生"}
ZW = "\u200b"  # zero-width space (UTF-8 pages only; GBK cannot encode it)


def _drop_unencodable(err):
    return ("", err.end)


codecs.register_error("qwbench-drop", _drop_unencodable)


class Doc:
    """An HTML document under construction; tracks its encoded size."""

    def __init__(self, enc):
        self.enc = enc
        self.parts = []
        self.size = 0

    def raw(self, s):
        b = s.encode(self.enc, "qwbench-drop")
        self.parts.append(b)
        self.size += len(b)

    def text(self, s):
        self.raw(html.escape(s, quote=False))

    def data(self):
        return b"".join(self.parts)


def attr(s):
    return html.escape(s, quote=True)


# ---------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------
def reg_valid(r, dev):
    _, cls, _, code, _ = DEVICES[dev]
    year = r.randint(2015, 2024)
    serial = r.randint(1, 9999)
    if cls == 3:
        form = "进" if r.random() < 0.25 else "准"
        return f"国械注{form}{year}3{code}{serial:04d}"
    return f"{r.choice(PROV)}械注准{year}2{code}{serial:04d}"


def reg_number(r, dev, kind):
    """Returns the number text shown on the page for a planted kind."""
    if kind == "valid":
        s = reg_valid(r, dev)
        if r.random() < 0.15:  # spaced out, as some shops print it
            s = s[:4] + " " + s[4:8] + " " + s[8] + " " + s[9:11] + " " + s[11:]
        return s
    if kind == "filing":
        return f"{r.choice(PROV)}{r.choice('穗深苏杭甬宁')}械备{r.randint(2015, 2024)}" \
               f"{r.randint(1, 9999):04d}号"
    if kind == "malformed":
        year = r.randint(2016, 2024)
        c = r.randrange(5)
        if c == 0:   # 10-digit tail
            return f"{r.choice(PROV)}械注准{year}2{r.randint(10, 22)}{r.randint(0, 999):03d}"
        if c == 1:   # class 1 in a registration number
            return f"{r.choice(PROV)}械注准{year}1{r.randint(10, 22)}{r.randint(0, 9999):04d}"
        if c == 2:   # a province approving class III
            return f"{r.choice(PROV)}械注准{year}3{r.randint(10, 22)}{r.randint(0, 9999):04d}"
        if c == 3:   # a year in the future
            return f"国械注准{r.randint(2031, 2039)}316{r.randint(0, 9999):04d}"
        return f"港械注准{year}216{r.randint(0, 9999):04d}"  # unknown authority
    if kind == "legacy":
        return f"{r.choice(PROV)}食药监械(准)字{r.randint(2008, 2013)}第" \
               f"{r.choice('23')}{r.randint(20, 66)}{r.randint(0, 9999):04d}号"
    if kind == "wrongfield":  # a production licence where the number belongs
        return f"{r.choice(PROV)}食药监械生产许{r.randint(2014, 2020)}{r.randint(1, 9999):04d}号"
    return ""


# ---------------------------------------------------------------------------
# evasive spellings
# ---------------------------------------------------------------------------
def evade(r, s, gbk):
    """Spells a claim the way shops dodge keyword filters (or not)."""
    c = r.randrange(7)
    if c == 0 and len(s) >= 2:
        sep = r.choice([" ", "*", "·", "-", "/", "~"])
        return sep.join(s)
    if c == 1 and not gbk:
        return ZW.join(s)
    if c == 2:  # full-width digits and percent
        return s.translate({ord(ch): ord(ch) + 0xFEE0 for ch in "0123456789%"})
    if c == 3:
        for k in sorted(TRAD):
            s = s.replace(k, TRAD[k])
        return s
    return s


def with_ncr(s):
    """Writes Han characters as numeric character references (markup)."""
    return "".join(f"&#{ord(ch)};" for ch in s)


# ---------------------------------------------------------------------------
# page builder
# ---------------------------------------------------------------------------
CSS_NAMES = ["top-bar", "hd", "search", "menu", "crumbs", "gallery", "thumb",
             "summary", "price", "promo", "sku", "buy", "rec", "rec-card",
             "detail", "tabs", "param", "desc", "rate", "svc", "ft", "warn"]
CSS_DECL = ["margin:0 auto;padding:{a}px {b}px", "font:{a}px/1.5 'Microsoft YaHei',sans-serif",
            "color:#{c};background:#{c2}", "display:flex;align-items:center;gap:{a}px",
            "width:{w}px;height:{h}px;overflow:hidden", "border:1px solid #{c};border-radius:{a}px",
            "position:absolute;top:{a}px;right:{b}px;z-index:{a}",
            "background:url(//img.static.example/sprite_{w}.png) no-repeat -{a}px -{b}px",
            "transition:opacity .{a}s ease-in-out;opacity:.{b}"]
JS_BITS = ["function {f}(e){{var t=e||window.event;if(!t)return;t.preventDefault&&t.preventDefault();return {n}}}",
           "var {f}=(function(){{var c={{}};return{{get:function(k){{return c[k]}},set:function(k,v){{c[k]=v;return {n}}}}}}})();",
           "document.addEventListener('DOMContentLoaded',function(){{var n=document.querySelectorAll('.{cls}');for(var i=0;i<n.length;i++){{n[i].setAttribute('data-idx',i+{n})}}}});",
           "window.{f}=function(a,b){{return(a*{n}+b)%{n2}}};",
           "try{{localStorage.setItem('{f}','{n}')}}catch(e){{}}"]


def css_block(r, n):
    out = []
    for _ in range(n):
        sel = "." + r.choice(CSS_NAMES)
        if r.random() < 0.5:
            sel += " ." + r.choice(CSS_NAMES) + ("-" + str(r.randint(1, 40)) if r.random() < 0.3 else "")
        decl = r.choice(CSS_DECL).format(a=r.randint(1, 40), b=r.randint(1, 40),
                                         c=f"{r.randrange(0x1000000):06x}", c2=f"{r.randrange(0x1000000):06x}",
                                         w=r.randint(20, 1200), h=r.randint(20, 600))
        out.append(sel + "{" + decl + "}")
    return "\n".join(out)


def js_block(r, n):
    out = []
    for _ in range(n):
        out.append(r.choice(JS_BITS).format(f="_" + "".join(r.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(6)),
                                            n=r.randint(1, 9999), n2=r.randint(10, 99999),
                                            cls=r.choice(CSS_NAMES)))
    return "\n".join(out)


class Ctx:
    def __init__(self, r, dev, gbk):
        self.r = r
        self.dev = dev
        self.gbk = gbk
        self.cat, self.cls, self.prods, self.code, self.warn_kind = DEVICES[dev]
        self.brand = r.choice(BRANDS)
        self.prod = r.choice(self.prods)
        self.model = f"{'ABCDEFHKMS'[r.randrange(10)]}{r.choice('KTXR')}-{r.randint(100, 990)}"

    def fill(self, tpl):
        r = self.r
        c1, c2 = r.sample(CLAIMS, 2)
        f1, f2 = r.sample(FEATURES, 2)
        return tpl.format(brand=self.brand, prod=r.choice(self.prods), cat=self.cat,
                          feat=f1, feat2=f2, crowd=r.choice(CROWDS), city=r.choice(CITIES),
                          n=r.randint(10, 300), n2=r.randint(2, 30), n4=r.randint(1000, 9999),
                          year=r.randint(2016, 2024), months=r.choice([12, 24, 36, 60]),
                          small=r.choice(["0.5", "1", "2", "3"]), model=self.model,
                          express=r.choice(["顺丰", "京东", "中通", "圆通", "邮政"]),
                          claim=c1, claim2=c2)


def plan(r, dev):
    """What this page carries (recorded in the manifest)."""
    cls = DEVICES[dev][1]
    p = {}
    x = r.random()
    if cls == 1:
        p["number"] = "filing" if x < 0.7 else ("none" if x < 0.85 else "wrongfield")
    else:
        p["number"] = ("valid" if x < 0.55 else "none" if x < 0.70 else
                       "malformed" if x < 0.82 else "legacy" if x < 0.90 else
                       "filing" if x < 0.95 else "wrongfield")
    p["claims"] = r.random() < 0.35
    p["warnings"] = r.random() < 0.55
    p["weak_warning"] = (not p["warnings"]) and DEVICES[dev][4] in ("lens", "hear") \
        and r.random() < 0.4
    return p


def build(seed, idx, gbk):
    r = random.Random(f"qw-bench:{seed}:{idx}")
    enc = "gbk" if gbk else "utf-8"
    dev = r.choice(DEVICE_KEYS)
    cx = Ctx(r, dev, gbk)
    pl = plan(r, dev)
    target = int(MIN_BYTES + 1500 + (MAX_BYTES - MIN_BYTES - 6000) * r.random() ** 1.2)
    site = r.choice(SITES)
    shop = cx.brand + r.choice(SHOP_KINDS)
    style = r.randrange(3)  # parameter block as <table>, <dl> or <li> list
    item_id = 600000000000 + idx * 7919 + r.randrange(7919)
    title = f"{cx.brand}{cx.prod} {r.choice(FEATURES)}款"
    number = reg_number(r, dev, pl["number"])
    claims_used = []

    def claim():
        c = r.choice(CLAIMS)
        claims_used.append(c)
        return c

    d = Doc(enc)
    # ---- head ----
    d.raw("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n")
    if gbk and r.random() < 0.3:
        d.raw("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\n")
    else:
        d.raw(f"<meta charset=\"{'gbk' if gbk else 'utf-8'}\">\n")
    d.raw("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1,maximum-scale=1\">\n")
    tclaim = f"【{claim()}】" if pl["claims"] and r.random() < 0.3 else ""
    d.raw(f"<title>{attr(tclaim + title)}-{attr(shop)}-{attr(site)}</title>\n")
    d.raw(f"<meta name=\"keywords\" content=\"{attr(cx.cat)},{attr(cx.prod)},{attr(cx.brand)},"
          f"{attr(','.join(r.sample(HOT, 4)))},{attr(r.choice(CLAIMS))}\">\n")
    d.raw(f"<meta name=\"description\" content=\"{attr(site)}为您提供{attr(cx.brand + cx.prod)}的价格、"
          f"参数、评价，{attr(r.choice(CLAIMS))}，正品保障，{attr(r.choice(CITIES))}仓发货。\">\n")
    d.raw(f"<meta property=\"og:title\" content=\"{attr(title)}\">\n"
          f"<meta property=\"og:type\" content=\"product\">\n"
          f"<meta property=\"og:image\" content=\"https://img.static.example/item/{item_id}_1.jpg\">\n"
          f"<meta property=\"product:price:amount\" content=\"{r.randint(19, 3999)}.00\">\n")
    d.raw(f"<link rel=\"canonical\" href=\"https://item.shop.example/{item_id}.html\">\n")
    for _ in range(r.randint(2, 5)):
        d.raw(f"<link rel=\"stylesheet\" href=\"//static.shop.example/css/{r.choice(CSS_NAMES)}."
              f"{r.randrange(16 ** 8):08x}.css\">\n")
    d.raw("<style>\n" + css_block(r, r.randint(120, 260)) + "\n</style>\n")
    for _ in range(r.randint(2, 6)):
        d.raw(f"<script src=\"//static.shop.example/js/{r.choice(['vendor', 'core', 'sku', 'lazy', 'spm', 'cart'])}."
              f"{r.randrange(16 ** 8):08x}.js\" defer></script>\n")
    d.raw("<script>\n/* " + r.choice(CLAIMS) + " */\nvar PAGE_CFG={itemId:'" + str(item_id) +
          "',shop:'" + shop + "',title:'" + title + "',tags:['" + r.choice(CLAIMS) + "','" +
          (number or r.choice(HOT)) + "']};\n" + js_block(r, r.randint(40, 110)) + "\n</script>\n")
    # JSON-LD product (a field of the page model)
    ld = {"@context": "https://schema.org", "@type": "Product", "name": title,
          "brand": {"@type": "Brand", "name": cx.brand},
          "description": f"{cx.brand}{cx.prod}，{r.choice(FEATURES)}。" +
                         (claim() if pl["claims"] and r.random() < 0.5 else ""),
          "sku": str(item_id),
          "offers": {"@type": "Offer", "priceCurrency": "CNY",
                     "price": f"{r.randint(19, 3999)}.00", "seller": {"@type": "Organization", "name": shop}}}
    d.raw("<script type=\"application/ld+json\">" + json.dumps(ld, ensure_ascii=False) + "</script>\n")
    d.raw("</head>\n")
    d.raw(f"<body class=\"item-page dev-{dev}\" data-spm=\"a{r.randint(1000, 9999)}\">\n")
    d.raw("<!-- top bar " + r.choice(CLAIMS) + " -->\n")

    # ---- top bar, header, search ----
    d.raw("<div class=\"top-bar\"><div class=\"wrap\"><ul>")
    for w in TOPBAR:
        d.raw(f"<li><a href=\"/u/{r.randint(1, 99)}\">")
        d.text(w)
        d.raw("</a></li>")
    d.raw("</ul></div></div>\n")
    d.raw(f"<div class=\"hd\"><a class=\"logo\" href=\"/\"><img src=\"/static/logo.png\" alt=\"{attr(site)}\"></a>")
    d.raw(f"<form class=\"search\" action=\"/s\"><input type=\"text\" name=\"q\" placeholder=\"{attr(r.choice(HOT))}\">"
          f"<input type=\"hidden\" name=\"spm\" value=\"{attr(r.choice(CLAIMS))}\"><button>")
    d.text("搜索")
    d.raw("</button></form><div class=\"hot\">")
    for w in r.sample(HOT, 8):
        d.raw(f"<a href=\"/s?q={r.randint(1, 99999)}\">")
        d.text(w)
        d.raw("</a> ")
    d.raw("</div></div>\n")
    d.raw("<div class=\"menu\"><ul>")
    for top, subs in MENU:
        d.raw(f"<li><h4><a href=\"/c/{r.randint(100, 999)}\">")
        d.text(top)
        d.raw("</a></h4><div class=\"sub\">")
        for s in subs:
            d.raw(f"<a href=\"/c/{r.randint(1000, 9999)}\">")
            d.text(s)
            d.raw("</a>")
        d.raw("</div></li>")
    d.raw("</ul></div>\n")
    d.raw("<div class=\"crumbs\"><a href=\"/\">")
    d.text("首页")
    d.raw("</a>&nbsp;&gt;&nbsp;<a href=\"/c/med\">")
    d.text("医疗器械")
    d.raw(f"</a>&nbsp;&gt;&nbsp;<a href=\"/c/{dev}\">")
    d.text(cx.cat)
    d.raw("</a>&nbsp;&gt;&nbsp;<span>")
    d.text(title)
    d.raw("</span></div>\n")

    # ---- gallery and summary ----
    d.raw("<div class=\"main\"><div class=\"gallery\">")
    for k in range(r.randint(4, 7)):
        alt = cx.brand + cx.prod + (" " + r.choice(CLAIMS) if r.random() < 0.3 else "")
        d.raw(f"<img src=\"https://img.static.example/item/{item_id}_{k}.jpg_430x430.jpg\" "
              f"alt=\"{attr(alt)}\" width=\"430\" height=\"430\">")
    d.raw("</div><div class=\"summary\"><h1>")
    d.text(tclaim + title)
    d.raw("</h1><p class=\"sub-title\">")
    if pl["claims"] and r.random() < 0.6:
        d.text(evade(r, claim(), gbk) + "，" + r.choice(FEATURES))
    else:
        d.text(r.choice(FEATURES) + "，" + r.choice(FEATURES))
    price = r.randint(19, 3999)
    d.raw("</p><div class=\"price\"><span>")
    d.text("促销价")
    d.raw("</span><em>")
    d.text(f"￥{price}.{r.randint(0, 99):02d}")
    d.raw("</em><del>")
    d.text(f"￥{price * 2 - 1}.00")
    d.raw("</del></div><div class=\"promo\">")
    d.text(f"满{r.randint(99, 299)}减{r.randint(10, 60)}  月销{r.randint(10, 40000)}+  "
           f"累计评价{r.randint(10, 90000)}")
    d.raw("</div><div class=\"sku\"><span class=\"lbl\">")
    d.text("规格")
    d.raw("</span><ul>")
    for _ in range(r.randint(3, 8)):
        d.raw(f"<li data-sku=\"{r.randint(10 ** 9, 10 ** 10)}\"><a href=\"#\">")
        d.text(f"{r.choice(cx.prods)} {r.choice(FEATURES)}")
        d.raw("</a></li>")
    d.raw("</ul></div><div class=\"buy\"><a href=\"#\" class=\"btn-buy\">")
    d.text("立即购买")
    d.raw("</a><a href=\"#\" class=\"btn-cart\">")
    d.text("加入购物车")
    d.raw("</a></div></div></div>\n")

    # ---- recommendation blocks ----
    for head in ["看了又看", "店铺热销", "猜你喜欢"]:
        d.raw(f"<div class=\"rec\" data-mod=\"{attr(head)}\"><h3>")
        d.text(head)
        d.raw("</h3><ul>")
        for _ in range(r.randint(8, 16)):
            odev = r.choice(DEVICE_KEYS)
            oprod = r.choice(DEVICES[odev][2])
            oid = 600000000000 + r.randrange(10 ** 8)
            ot = r.choice(BRANDS) + oprod
            d.raw(f"<li class=\"rec-card\"><a href=\"/item/{oid}.html\" title=\"{attr(ot)}\">"
                  f"<img src=\"https://img.static.example/item/{oid}_1.jpg_160x160.jpg\" "
                  f"alt=\"{attr(ot + (' ' + r.choice(CLAIMS) if r.random() < 0.2 else ''))}\"></a>"
                  f"<p class=\"t\"><a href=\"/item/{oid}.html\">")
            d.text(ot)
            d.raw("</a></p><p class=\"p\">")
            d.text(f"￥{r.randint(9, 1999)}.{r.randint(0, 99):02d}  {r.randint(1, 9999)}人付款")
            d.raw("</p></li>")
        d.raw("</ul></div>\n")

    # ---- tail (built first so the filler knows how much room is left) ----
    tail = Doc(enc)
    tail.raw("</div>\n<noscript><p>")
    tail.text("您的浏览器未启用脚本，" + r.choice(CLAIMS) + "，" + (number or "请开启脚本"))
    tail.raw("</p></noscript>\n")
    tail.raw("<template id=\"tpl-coupon\"><div class=\"coupon\">" + html.escape(r.choice(CLAIMS)) +
             "</div></template>\n")
    tail.raw("<div class=\"ft\"><p class=\"links\">")
    for w in ["关于我们", "联系客服", "隐私政策", "用户协议", "商家入驻", "廉正举报"]:
        tail.raw(f"<a href=\"/help/{r.randint(1, 99)}\">")
        tail.text(w)
        tail.raw("</a> | ")
    tail.raw("</p><p class=\"lic\">")
    p1, p2 = r.choice(PROV), r.choice(PROV)
    tail.text(f"医疗器械网络交易服务第三方平台备案凭证：（{p1}）网械平台备字（{r.randint(2018, 2023)}）"
              f"第{r.randint(1, 99):05d}号  ")
    tail.text(f"互联网药品信息服务资格证书：（{p2}）-经营性-{r.randint(2018, 2023)}-{r.randint(1, 999):04d}  ")
    tail.text(f"医疗器械经营许可证：{p1}{r.choice('穗深莞苏杭')}食药监械经营许{r.randint(2016, 2022)}"
              f"{r.randint(1, 9999):04d}号")
    tail.raw("</p><p class=\"icp\">&copy; 2014-2026 ")
    tail.text(f"{site} 版权所有  {p1}ICP备{r.randint(10 ** 7, 10 ** 8)}号  客服热线 400-{r.randint(100, 999)}-"
              f"{r.randint(1000, 9999)}")
    tail.raw("</p></div>\n")
    # embedded state blob: 12-22% of the page, full of claims and numbers
    state_target = int(target * r.uniform(0.12, 0.22))
    skus, size = [], 0
    while size < state_target:
        e = {"skuId": str(r.randint(10 ** 11, 10 ** 12)),
             "title": cx.fill(r.choice(SENTENCES)),
             "price": f"{r.randint(9, 3999)}.{r.randint(0, 99):02d}", "stock": r.randint(0, 5000),
             "tags": r.sample(FEATURES, 3),
             "memo": (reg_valid(r, dev) + " " + r.choice(CLAIMS)) if r.random() < 0.3 else
                     r.choice([WARN_RETAIL, WARN_CONTRA, r.choice(NON_CLAIMS)])}
        s = json.dumps(e, ensure_ascii=False)
        size += len(s.encode(enc, "qwbench-drop")) + 1
        skus.append(e)
    state = {"item": {"id": str(item_id), "title": title, "shop": shop, "category": cx.cat,
                      "regNo": number}, "skus": skus}
    tail.raw("<script>window.__INIT_DATA__=" +
             json.dumps(state, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/") +
             ";</script>\n")
    tail.raw("<script>\n" + js_block(r, r.randint(10, 40)) + "\n</script>\n</body>\n</html>\n")

    # ---- detail: tabs, parameters, warnings ----
    d.raw("<div class=\"detail\"><ul class=\"tabs\"><li class=\"on\">")
    d.text("商品详情")
    d.raw("</li><li>")
    d.text("规格参数")
    d.raw("</li><li>")
    d.text("累计评价")
    d.raw("</li><li>")
    d.text("售后保障")
    d.raw("</li></ul>\n")
    params = [("品牌", cx.brand), ("产品名称", cx.prod), ("型号", cx.model),
              ("生产企业", f"{r.choice(CITIES)}{cx.brand}医疗器械有限公司"),
              ("适用人群", r.choice(CROWDS)), ("有效期", f"{r.choice([24, 36, 60])}个月"),
              ("产地", r.choice(CITIES))]
    if pl["number"] != "none":
        label = "备案编号" if pl["number"] == "filing" else \
            r.choice(["注册证编号", "医疗器械注册证编号", "注册证号", "批准文号"])
        params.insert(3, (label, number))
    elif r.random() < 0.5:
        params.insert(3, ("执行标准", f"GB {r.randint(10000, 19999)}-{r.randint(2008, 2020)}"))
    params.append(("管理类别", {1: "第一类", 2: "第二类", 3: "第三类"}[cx.cls]))
    if style == 0:
        d.raw("<table class=\"param\"><tbody>")
        for k, v in params:
            d.raw("<tr><th>")
            d.text(k)
            d.raw("</th><td>")
            d.text(v)
            d.raw("</td></tr>")
        d.raw("</tbody></table>\n")
    elif style == 1:
        d.raw("<dl class=\"param\">")
        for k, v in params:
            d.raw("<dt>")
            d.text(k)
            d.raw("</dt><dd>")
            d.text(v)
            d.raw("</dd>")
        d.raw("</dl>\n")
    else:
        d.raw("<ul class=\"param\">")
        for k, v in params:
            d.raw(f"<li title=\"{attr(v)}\">")
            d.text(f"{k}：{v}")
            d.raw("</li>")
        d.raw("</ul>\n")
    warns = []
    if pl["warnings"]:
        if cx.warn_kind == "lens":
            warns.append(WARN_LENS)
        elif cx.warn_kind == "hear":
            warns.append(WARN_HEAR)
        warns.append(WARN_RETAIL)
        if r.random() < 0.5:
            warns.append(WARN_CONTRA)
    elif pl["weak_warning"]:
        warns.append(WARN_WEAK)
    if warns:
        d.raw("<div class=\"warn\">")
        for w in warns:
            d.raw("<p><strong>")
            d.text(w)
            d.raw("</strong></p>")
        d.raw("</div>\n")

    # ---- filler: description, reviews, after-sales, until the size fits ----
    k = 0
    while d.size + tail.size < target - 400:
        k += 1
        x = r.random()
        if x < 0.5:
            d.raw(f"<div class=\"desc\" id=\"desc-{k}\" data-mod=\"m{r.randint(100, 999)}\"><p>")
            for _ in range(r.randint(3, 7)):
                d.raw(f"<span style=\"font-size:{r.choice([12, 14, 16])}px;color:#{r.randrange(0x1000000):06x};"
                      f"line-height:1.8\">")
                d.text(cx.fill(r.choice(SENTENCES)))
                d.raw("</span>")
            if r.random() < 0.15:
                d.text(r.choice(NON_CLAIMS) + "。")
            if pl["claims"] and r.random() < 0.2:
                c = claim()
                line = r.choice(CLAIM_LINES).replace("{claim}", evade(r, c, gbk), 1)
                line = line.replace("{claim2}", claim())
                d.raw("<span class=\"hl\">")
                d.text(cx.fill(line))
                d.raw("</span>")
            if pl["claims"] and r.random() < 0.03:
                d.raw("<b>" + with_ncr(claim()) + "</b>")  # claim as &#NNNNN; refs
            if pl["claims"] and r.random() < 0.03:
                c = claim()
                h = len(c) // 2 or 1
                d.raw("<em>" + html.escape(c[:h]) + "</em><i>" + html.escape(c[h:]) + "</i>")
            if pl["number"] != "none" and r.random() < 0.05:
                d.text(f"本品{'备案编号' if pl['number'] == 'filing' else '注册证编号'}：{number}，请认准正品。")
            d.raw("</p>")
            d.raw(f"<img class=\"lazy\" src=\"/static/blank.gif\" data-src=\"https://img.static.example/desc/"
                  f"{item_id}_{k}.jpg\" alt=\"{attr(cx.prod)}详情{k}\" width=\"790\"></div>\n")
        elif x < 0.6:
            d.raw("<div class=\"desc-img\">")
            for j in range(r.randint(3, 8)):
                d.raw(f"<div class=\"img-wrap\" style=\"width:790px;height:{r.randint(300, 1200)}px\">"
                      f"<img class=\"lazy\" src=\"data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==\" "
                      f"data-src=\"https://img.static.example/imgextra/i{r.randint(1, 4)}/{r.randrange(10 ** 10)}/"
                      f"O1CN01{r.randrange(16 ** 12):012x}_!!{r.randrange(10 ** 10)}.jpg_790x10000Q75.jpg\" "
                      f"alt=\"\" width=\"790\"></div>")
            d.raw("</div>\n")
        elif x < 0.8:
            d.raw("<div class=\"rate\"><span class=\"user\">")
            d.text(r.choice(NAMES))
            d.raw("</span><p>")
            d.text(cx.fill(r.choice(REVIEWS)))
            d.raw("</p><span class=\"date\">")
            d.text(f"{r.randint(2022, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}  "
                   f"规格：{r.choice(cx.prods)}")
            d.raw("</span></div>\n")
        elif x < 0.88:
            d.raw("<div class=\"svc\"><h4>")
            d.text("售后保障")
            d.raw("</h4><p>")
            d.text(cx.fill(SENTENCES[8]))
            d.raw("&nbsp;")
            d.text(cx.fill(SENTENCES[12]))
            d.raw("</p></div><!-- svc " + r.choice(CLAIMS) + " -->\n")
        elif x < 0.96:
            d.raw("<ul class=\"feat\">")
            for _ in range(r.randint(4, 9)):
                d.raw(f"<li class=\"f{r.randint(1, 9)}\">")
                d.text(f"{r.choice(['功能', '材质', '颜色', '尺寸', '包装', '认证'])}：{r.choice(FEATURES)}")
                d.raw("</li>")
            d.raw("</ul>\n")
        else:
            d.raw(f"<div class=\"hide\" style=\"display:none\">{html.escape(r.choice(CLAIMS))}"
                  f"{html.escape(r.choice(HOT))}</div>\n")
    if warns and r.random() < 0.5:
        d.raw("<div class=\"warn-foot\"><p>")
        d.text(warns[-1])
        d.raw("</p></div>\n")

    data = d.data() + tail.data()
    info = {"charset": "gbk" if gbk else "utf-8", "bytes": len(data), "device": dev,
            "class": cx.cls, "number": pl["number"], "number_text": number,
            "claims": sorted(set(claims_used)), "warnings": warns}
    return data, info


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gbk-share", type=float, default=0.20)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    a = ap.parse_args()
    if a.pages < 1 or not 0 <= a.gbk_share <= 1:
        sys.exit("gen_corpus: --pages must be >= 1 and --gbk-share within [0, 1]")
    pdir = os.path.join(a.out, "pages")
    os.makedirs(pdir, exist_ok=True)
    for name in os.listdir(pdir):  # a re-run replaces the previous corpus
        if name.endswith(".html"):
            os.remove(os.path.join(pdir, name))
    master = random.Random(f"qw-bench:{a.seed}:gbk")
    gbk_set = set(master.sample(range(a.pages), int(round(a.pages * a.gbk_share))))
    rows = []
    digest = hashlib.sha256()
    for i in range(a.pages):
        gbk = i in gbk_set
        data, info = build(a.seed, i, gbk)
        if not MIN_BYTES <= len(data) <= MAX_BYTES:
            sys.exit(f"gen_corpus: page {i} is {len(data)} bytes, outside "
                     f"[{MIN_BYTES}, {MAX_BYTES}]")
        name = f"{i:04d}-{'gbk' if gbk else 'utf8'}.html"
        with open(os.path.join(pdir, name), "wb") as f:
            f.write(data)
        digest.update(name.encode() + b"\0" + data)
        info["file"] = "pages/" + name
        rows.append(info)
    sizes = [row["bytes"] for row in rows]
    man = {"generator": "bench/gen_corpus.py", "seed": a.seed, "pages": a.pages,
           "gbk_share": a.gbk_share, "gbk_pages": len(gbk_set),
           "bytes_total": sum(sizes), "bytes_min": min(sizes), "bytes_max": max(sizes),
           "pages_with_claims": sum(1 for row in rows if row["claims"]),
           "pages_with_warnings": sum(1 for row in rows if row["warnings"]),
           "sha256": digest.hexdigest(), "files": rows}
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(man, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"gen_corpus: {a.pages} pages ({len(gbk_set)} GBK), {sum(sizes)} bytes, "
          f"{min(sizes)}..{max(sizes)} per page, in {a.out}")


if __name__ == "__main__":
    main()
