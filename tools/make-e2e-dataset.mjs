#!/usr/bin/env node
// Synthetic restaurant data-to-text examples in the spirit of the E2E NLG challenge (Novikova et al.,
// 2017), the GPT-2 task of the LoRA paper: a meaning representation of 3–8 attributes
// `name[...], eatType[...], ...` as the prompt, one or two fluent sentences realising every attribute as
// the completion. Everything here (names, landmarks, phrasings) is invented by this script: no E2E data
// is copied. Deterministic: the same seed gives the same file byte for byte.
//
//   node tools/make-e2e-dataset.mjs [--count 3000] [--seed 2017] [--out public/datasets/e2e-restaurants.jsonl]
import { writeFileSync } from 'node:fs';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .join(' ')
    .split('--')
    .filter((s) => s.trim())
    .map((s) => s.trim().split(/\s+/)),
);
const COUNT = Number(args.count ?? 3000);
const SEED = Number(args.seed ?? 2017);
const OUT = args.out ?? 'public/datasets/e2e-restaurants.jsonl';

// mulberry32: tiny, well-mixed, and identical in every JS engine.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chance = (p) => rand() < p;
function shuffle(xs) {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const NAMES = [
  'The Eagle',
  'The Copper Kettle',
  'Blue Lantern',
  'The Golden Fork',
  'Saffron House',
  'The Old Mill',
  'Olive Tree',
  'Bamboo Garden',
  'The Jade Dragon',
  'Le Petit Jardin',
  "Rosa's Kitchen",
  'The Spice Route',
  'The Sorrel',
  'The Kings Arms',
  'Maple and Thyme',
  'The Green Door',
  'The Wandering Goose',
  'Lotus Blossom',
  'The Black Swan',
  'Little Acorn',
  'The Hungry Heron',
  'Chez Marcel',
  'The Lamplighter',
  'The Golden Hind',
  'The Silver Spoon',
  'Fig and Fennel',
  'The Crooked Chimney',
  'Mount Pleasant',
  'The Bell and Anchor',
  'Café Lumière',
];
const LANDMARKS = [
  'The Six Bells',
  'Avalon',
  'The Bakers',
  'Crown Hotel',
  'Market Hall',
  "St Mary's Church",
  'Rainbow Café',
  'Noodle Corner',
  'The Swan',
  'Castle Museum',
  'the Corn Exchange',
  'the railway station',
  'Burger Barn',
  'The Portland Rooms',
  'the Art Gallery',
  'the Botanic Garden',
];
const EAT_TYPES = ['restaurant', 'coffee shop', 'pub'];
const FOODS = ['French', 'Italian', 'Chinese', 'Indian', 'Japanese', 'English', 'Fast food'];
const PRICES = ['cheap', 'moderate', 'high', 'less than £20', '£20-25', 'more than £30'];
const RATINGS = ['low', 'average', 'high', '1 out of 5', '3 out of 5', '5 out of 5'];
const AREAS = ['riverside', 'city centre'];
const KEYS = ['name', 'eatType', 'food', 'priceRange', 'customer rating', 'area', 'familyFriendly', 'near'];

// ---- phrasings: adj (before the noun), prep (after the noun), pred (after a subject) ----

function foodForms(food) {
  const fast = food === 'Fast food';
  const dish = fast ? 'fast food' : `${food} food`;
  return {
    adj: [fast ? 'fast food' : food],
    prep: [`serving ${dish}`, fast ? 'selling fast food' : `offering ${food} cuisine`],
    pred: [`serves ${dish}`, fast ? 'sells fast food' : `offers ${food} cuisine`, `specialises in ${dish}`],
  };
}

function priceForms(p) {
  switch (p) {
    case 'cheap':
      return {
        adj: ['cheap', 'inexpensive', 'low-priced'],
        prep: ['with low prices', 'in the cheap price range'],
        pred: ['is cheap', 'has low prices', 'is inexpensive', 'offers food at low prices'],
      };
    case 'moderate':
      return {
        adj: ['moderately priced', 'mid-priced'],
        prep: ['with moderate prices', 'in the moderate price range'],
        pred: ['is moderately priced', 'has moderate prices', 'charges moderate prices'],
      };
    case 'high':
      return {
        adj: ['expensive', 'high-priced', 'pricey'],
        prep: ['with high prices', 'in the high price range'],
        pred: ['is expensive', 'has high prices', 'is on the pricey side'],
      };
    case 'less than £20':
      return {
        adj: [],
        prep: ['with meals under £20', 'with meals for less than £20'],
        pred: ['charges less than £20 per person', 'has prices under £20', 'serves meals for less than £20'],
      };
    case '£20-25':
      return {
        adj: [],
        prep: ['with prices of £20-25', 'in the £20-25 price range'],
        pred: ['has a price range of £20-25', 'costs £20-25 per person', 'charges between £20 and £25'],
      };
    default:
      return {
        adj: [],
        prep: ['with meals over £30', 'with meals costing more than £30'],
        pred: ['charges more than £30 per person', 'has prices above £30', 'costs more than £30 a head'],
      };
  }
}

function ratingForms(r) {
  const m = /^(\d) out of 5$/.exec(r);
  if (m) {
    return {
      adj: [`${m[1]}-star`],
      prep: [`rated ${r} by customers`, `with a customer rating of ${r}`],
      pred: [`has a customer rating of ${r}`, `is rated ${r} by its customers`, `earns ${r} from diners`],
    };
  }
  const word = { low: 'poorly', average: 'averagely', high: 'highly' }[r];
  return {
    adj: [`${word} rated`],
    prep: [`with a ${r} customer rating`, `with ${r} customer ratings`],
    pred: [
      `has a ${r} customer rating`,
      `is ${word} rated by customers`,
      r === 'low' ? 'gets poor reviews' : r === 'high' ? 'gets excellent reviews' : 'gets average reviews',
    ],
  };
}

function areaForms(a) {
  const where =
    a === 'riverside'
      ? ['by the riverside', 'on the riverside', 'in the riverside area', 'by the river']
      : ['in the city centre', 'in the centre of the city', 'in the city centre area'];
  return {
    adj: [],
    prep: where,
    pred: where.flatMap((w) => [`is located ${w}`, `is ${w}`, `can be found ${w}`]),
  };
}

function familyForms(f) {
  return f === 'yes'
    ? {
        adj: ['family-friendly', 'kid-friendly', 'child-friendly'],
        prep: ['welcoming families', 'welcoming children'],
        pred: ['is family-friendly', 'welcomes children', 'is a good choice for families', 'is kid friendly'],
      }
    : {
        adj: ['adults-only'],
        prep: ['not suitable for children', 'not suitable for families'],
        pred: [
          'is not family-friendly',
          'is not suitable for children',
          'does not cater for families',
          'is not kid friendly',
        ],
      };
}

function nearForms(n) {
  const near = [`near ${n}`, `close to ${n}`, `not far from ${n}`];
  return {
    adj: [],
    prep: near,
    pred: [`is located near ${n}`, `is close to ${n}`, `can be found near ${n}`],
  };
}

// ---- one example ----

function meaningRepresentation() {
  const mr = { name: pick(NAMES) };
  const optional = shuffle(KEYS.slice(1));
  const n = 2 + Math.floor(rand() * 6); // 2..7 attributes beside the name
  for (const k of optional.slice(0, n)) {
    if (k === 'eatType') mr.eatType = pick(EAT_TYPES);
    if (k === 'food') mr.food = pick(FOODS);
    if (k === 'priceRange') mr.priceRange = pick(PRICES);
    if (k === 'customer rating') mr['customer rating'] = pick(RATINGS);
    if (k === 'area') mr.area = pick(AREAS);
    if (k === 'familyFriendly') mr.familyFriendly = pick(['yes', 'no']);
    if (k === 'near') mr.near = pick(LANDMARKS.filter((l) => l !== mr.name));
  }
  return mr;
}

const article = (word) => (/^[aeiouAEIOU]/.test(word) ? 'an' : 'a');
const cap = (s) => s[0].toUpperCase() + s.slice(1);
function listJoin(xs) {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

function realise(mr) {
  const forms = [];
  if (mr.food) forms.push({ key: 'food', ...foodForms(mr.food) });
  if (mr.priceRange) forms.push({ key: 'price', ...priceForms(mr.priceRange) });
  if (mr['customer rating']) forms.push({ key: 'rating', ...ratingForms(mr['customer rating']) });
  if (mr.familyFriendly) forms.push({ key: 'family', ...familyForms(mr.familyFriendly) });
  if (mr.area) forms.push({ key: 'area', ...areaForms(mr.area) });
  if (mr.near) forms.push({ key: 'near', ...nearForms(mr.near) });

  // Decide per attribute whether the first sentence carries it (as an adjective or a trailing phrase)
  // or a later sentence does (as a predicate).
  const adjs = [];
  const preps = [];
  const preds = [];
  let foodAdj = null;
  for (const f of shuffle(forms)) {
    const r = rand();
    if (f.adj.length && r < 0.45 && (f.key === 'food' || adjs.length < 2)) {
      if (f.key === 'food') foodAdj = pick(f.adj);
      else adjs.push(pick(f.adj));
    } else if (f.prep.length && r < 0.7 && preps.length < 2) {
      preps.push({ key: f.key, text: pick(f.prep) });
    } else {
      preds.push(pick(f.pred));
    }
  }
  // Place phrases read best before the others ("in the city centre near X, with low prices").
  const order = { area: 0, near: 1 };
  preps.sort((a, b) => (order[a.key] ?? 2) - (order[b.key] ?? 2));

  const noun = mr.eatType ?? pick(['place', 'venue', 'eatery', 'spot']);
  const adjText = [adjs.join(', '), foodAdj].filter(Boolean).join(' ');
  const np = adjText ? `${adjText} ${noun}` : noun;
  const aNp = `${article(np)} ${np}`;
  const place = preps.filter((p) => p.key === 'area' || p.key === 'near').map((p) => p.text);
  const other = preps.filter((p) => p.key !== 'area' && p.key !== 'near').map((p) => p.text);
  const prepText = [place.join(' '), ...other]
    .filter(Boolean)
    .map((t, i) => (i ? `, ${t}` : ` ${t}`))
    .join('');
  const name = mr.name;

  let first;
  const style = rand();
  if (style < 0.4) first = `${name} is ${aNp}${prepText}.`;
  else if (style < 0.55) first = `There is ${aNp} called ${name}${prepText}.`;
  else if (style < 0.7 && preds.length) {
    first = `${name}, ${aNp}${prepText}, ${preds.shift()}.`;
  } else if (style < 0.82 && preps.length && preps.every((p) => p.key === 'area' || p.key === 'near')) {
    first = `${cap(preps.map((p) => p.text).join(' '))}, ${name} is ${aNp}.`;
    if (chance(0.5)) first = `Located ${preps.map((p) => p.text).join(' ')}, ${name} is ${aNp}.`;
  } else if (style < 0.92) {
    first = `If you are looking for ${aNp}${prepText}, try ${name}.`;
  } else first = `${name} is ${aNp}${prepText}.`;

  const sentences = [first];
  const subjects = ['It', `The ${noun}`, `This ${noun}`, name];
  while (preds.length) {
    const take = Math.min(preds.length, chance(0.6) ? 2 : 3);
    const group = preds.splice(0, take);
    const subj = pick(subjects);
    let also = '';
    if (sentences.length > 1 && chance(0.3)) {
      if (group[0].startsWith('is ')) group[0] = `is also ${group[0].slice(3)}`;
      else also = ' also';
    }
    sentences.push(`${subj}${also} ${listJoin(group)}.`);
  }
  return sentences.join(' ');
}

function prompt(mr) {
  return (
    KEYS.filter((k) => k in mr)
      .map((k) => `${k}[${mr[k]}]`)
      .join(', ') + '\n'
  );
}

const seen = new Set();
const lines = [];
while (lines.length < COUNT) {
  const mr = meaningRepresentation();
  const ex = { prompt: prompt(mr), completion: realise(mr) };
  const key = ex.prompt + ex.completion;
  if (seen.has(key)) continue;
  seen.add(key);
  lines.push(JSON.stringify(ex));
}
writeFileSync(OUT, lines.join('\n') + '\n');
console.log(
  `${OUT}: ${lines.length} examples, ${Buffer.byteLength(lines.join('\n') + '\n')} bytes (seed ${SEED})`,
);
