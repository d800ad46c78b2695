import { randomInt } from 'node:crypto';

// Docker-style generated names ("admiring_lovelace"): an adjective and the
// surname of a scientist or engineer.

const ADJECTIVES = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending', 'confident', 'cool',
  'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty',
  'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful',
  'hungry', 'infallible', 'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const SURNAMES = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bell', 'bhabha',
  'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'burnell', 'cannon', 'carson',
  'cerf', 'chandrasekhar', 'clarke', 'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley', 'einstein',
  'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo',
  'gauss', 'germain', 'goldberg', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hermann', 'hodgkin', 'hoover',
  'hopper', 'hypatia', 'jackson', 'jang', 'jennings', 'johnson', 'kalam', 'keller', 'kepler', 'khorana',
  'kilby', 'knuth', 'kowalevski', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lederberg', 'liskov', 'lovelace',
  'lumiere', 'mahavira', 'mayer', 'mccarthy', 'mclean', 'meitner', 'mendel', 'merkle', 'mirzakhani', 'morse',
  'napier', 'nash', 'newton', 'nightingale', 'nobel', 'noether', 'noyce', 'pascal', 'pasteur', 'payne',
  'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'sammet',
  'shannon', 'shaw', 'shockley', 'sinoussi', 'snyder', 'spence', 'stonebraker', 'swanson', 'tesla', 'thompson',
  'torvalds', 'turing', 'varahamihira', 'volhard', 'wescoff', 'wilbur', 'wiles', 'williams', 'wing', 'wozniak',
  'wright', 'yalow', 'yonath',
];

export function generateName(retry = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  // Like Docker, add a digit once collisions start happening.
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}

export const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
