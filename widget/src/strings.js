/* The widget's own words, per locale (data-locale / init({locale})). A missing locale or key
   falls back to English, so a partial translation never shows a blank button. Server text
   (replies, tool labels, quick replies) arrives already in the conversation's language. */
const STRINGS = {
  en: {
    title: "Support", greeting: "Hi! How can we help you today?",
    open: "Open support chat", close: "Close support chat", conversation: "Conversation",
    input: "Your message", placeholder: "Type your message...", send: "Send",
    sending: "Sending...", notSent: "Not sent", typing: "Typing...", sources: "Sources:",
    team: "Team", connecting: "Connecting...", offline: "Offline - reconnecting...",
    offlineQueued: "Offline - your message will be sent when we reconnect",
    queued: "Waiting for a team member", human: "Chatting with our team",
    escalated: "A member of our team has been asked to join this chat.",
    failed: "Something went wrong. Please try again.",
    tooLong: "Messages can be at most {n} characters.",
    suggestions: ["Where is my order?", "How do I return an item?", "How much is shipping?"],
    suggestionsLabel: "Suggested questions", quickLabel: "Quick replies",
    attach: "Attach a photo", attachFirst: "Send a message first, then attach a photo.",
    uploadFailed: "The photo could not be uploaded.", removePhoto: "Remove photo",
    photoOnly: "(photo)", photo: "Photo", tooMany: "At most {n} photos per message.",
    identified: "Signed in as {name}.",
    csatAsk: "How did we do?", csatComment: "Anything to add? (optional)",
    csatSend: "Send rating", csatThanks: "Thank you for your feedback!",
    csatScores: ["Very poor", "Poor", "OK", "Good", "Excellent"],
  },
  es: {
    title: "Ayuda", greeting: "¡Hola! ¿En qué podemos ayudarte hoy?",
    open: "Abrir el chat de ayuda", close: "Cerrar el chat de ayuda", conversation: "Conversación",
    input: "Tu mensaje", placeholder: "Escribe tu mensaje...", send: "Enviar",
    sending: "Enviando...", notSent: "No enviado", typing: "Escribiendo...", sources: "Fuentes:",
    team: "Equipo", connecting: "Conectando...", offline: "Sin conexión - reconectando...",
    offlineQueued: "Sin conexión - tu mensaje se enviará al reconectar",
    queued: "Esperando a una persona del equipo", human: "Hablando con nuestro equipo",
    escalated: "Hemos pedido a una persona del equipo que se una al chat.",
    failed: "Algo salió mal. Inténtalo de nuevo.",
    tooLong: "Los mensajes pueden tener como máximo {n} caracteres.",
    suggestions: ["¿Dónde está mi pedido?", "¿Cómo devuelvo un artículo?", "¿Cuánto cuesta el envío?"],
    suggestionsLabel: "Preguntas sugeridas", quickLabel: "Respuestas rápidas",
    attach: "Adjuntar una foto", attachFirst: "Envía primero un mensaje y luego adjunta la foto.",
    uploadFailed: "No se pudo subir la foto.", removePhoto: "Quitar la foto",
    photoOnly: "(foto)", photo: "Foto", tooMany: "Como máximo {n} fotos por mensaje.",
    identified: "Has iniciado sesión como {name}.",
    csatAsk: "¿Qué tal te hemos atendido?", csatComment: "¿Algo más? (opcional)",
    csatSend: "Enviar valoración", csatThanks: "¡Gracias por tu opinión!",
    csatScores: ["Muy mal", "Mal", "Regular", "Bien", "Excelente"],
  },
  fr: {
    title: "Assistance", greeting: "Bonjour ! Comment pouvons-nous vous aider ?",
    open: "Ouvrir le chat d'assistance", close: "Fermer le chat d'assistance",
    conversation: "Conversation", input: "Votre message", placeholder: "Écrivez votre message...",
    send: "Envoyer", sending: "Envoi...", notSent: "Non envoyé", typing: "Rédaction...",
    sources: "Sources :", team: "Équipe", connecting: "Connexion...",
    offline: "Hors ligne - reconnexion...",
    offlineQueued: "Hors ligne - votre message partira à la reconnexion",
    queued: "En attente d'un membre de l'équipe", human: "En discussion avec notre équipe",
    escalated: "Un membre de notre équipe a été invité à rejoindre ce chat.",
    failed: "Un problème est survenu. Veuillez réessayer.",
    tooLong: "Un message fait au plus {n} caractères.",
    suggestions: ["Où est ma commande ?", "Comment retourner un article ?", "Combien coûte la livraison ?"],
    suggestionsLabel: "Questions suggérées", quickLabel: "Réponses rapides",
    attach: "Joindre une photo", attachFirst: "Envoyez d'abord un message, puis joignez la photo.",
    uploadFailed: "La photo n'a pas pu être envoyée.", removePhoto: "Retirer la photo",
    photoOnly: "(photo)", photo: "Photo", tooMany: "Au plus {n} photos par message.",
    identified: "Connecté en tant que {name}.",
    csatAsk: "Comment s'est passé cet échange ?", csatComment: "Un commentaire ? (facultatif)",
    csatSend: "Envoyer la note", csatThanks: "Merci pour votre avis !",
    csatScores: ["Très mauvais", "Mauvais", "Correct", "Bien", "Excellent"],
  },
  de: {
    title: "Kundenservice", greeting: "Hallo! Wie können wir Ihnen helfen?",
    open: "Support-Chat öffnen", close: "Support-Chat schließen", conversation: "Unterhaltung",
    input: "Ihre Nachricht", placeholder: "Nachricht eingeben...", send: "Senden",
    sending: "Wird gesendet...", notSent: "Nicht gesendet", typing: "Schreibt...",
    sources: "Quellen:", team: "Team", connecting: "Verbinde...",
    offline: "Offline - neue Verbindung...",
    offlineQueued: "Offline - Ihre Nachricht wird gesendet, sobald die Verbindung steht",
    queued: "Warten auf ein Teammitglied", human: "Im Chat mit unserem Team",
    escalated: "Ein Mitglied unseres Teams wurde gebeten, dem Chat beizutreten.",
    failed: "Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.",
    tooLong: "Nachrichten dürfen höchstens {n} Zeichen lang sein.",
    suggestions: ["Wo ist meine Bestellung?", "Wie sende ich einen Artikel zurück?", "Was kostet der Versand?"],
    suggestionsLabel: "Vorgeschlagene Fragen", quickLabel: "Schnellantworten",
    attach: "Foto anhängen", attachFirst: "Senden Sie zuerst eine Nachricht, dann das Foto.",
    uploadFailed: "Das Foto konnte nicht hochgeladen werden.", removePhoto: "Foto entfernen",
    photoOnly: "(Foto)", photo: "Foto", tooMany: "Höchstens {n} Fotos pro Nachricht.",
    identified: "Angemeldet als {name}.",
    csatAsk: "Wie zufrieden waren Sie?", csatComment: "Möchten Sie etwas ergänzen? (optional)",
    csatSend: "Bewertung senden", csatThanks: "Vielen Dank für Ihr Feedback!",
    csatScores: ["Sehr schlecht", "Schlecht", "Okay", "Gut", "Sehr gut"],
  },
};

/* The strings for `locale` ("de", "de-AT", "DE"...): the language's own, else English. */
const stringsFor = (locale) => {
  const lang = String(locale || "").toLowerCase().split(/[-_]/)[0];
  const own = STRINGS[lang] || {};
  const t = (key, vars = {}) => {
    const value = own[key] ?? STRINGS.en[key];
    return typeof value === "string" ? value.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? "")) : value;
  };
  t.lang = STRINGS[lang] ? lang : "en";
  return t;
};
