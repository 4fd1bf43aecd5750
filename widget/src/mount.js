/* Define the element, add one to the page, and expose window.SupportAgent.init(options). */
if (!customElements.get("support-chat")) customElements.define("support-chat", SupportChat);

const findOrMount = () => {
  let chat = document.querySelector("support-chat");
  if (!chat) {
    chat = document.createElement("support-chat");
    if (script) Object.assign(chat.dataset, script.dataset);
    // On <html>, not <body>: a transform or filter on the store's body would otherwise become the
    // containing block of the widget's fixed box and move it off screen.
    document.documentElement.append(chat);
  }
  return chat;
};

const pendingInit = [];
window.SupportAgent = Object.assign(window.SupportAgent || {}, {
  /* Options as in the data attributes, camelCased: {title, color, position, locale, greeting,
     suggestions, identityToken, server}. Safe before or after the page has loaded. */
  init(options = {}) {
    if (document.body) findOrMount().configure(options);
    else pendingInit.push(options);
  },
});

const mount = () => {
  const chat = findOrMount();
  for (const options of pendingInit.splice(0)) chat.configure(options);
};
if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
